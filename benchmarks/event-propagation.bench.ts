/**
 * Event propagation: pgmq send-with-notify → LISTEN round trip.
 *
 * One dedicated, persistent listener; one sender connection. A sample starts right before the
 * `pgmq_send_with_notify` call and ends when the listener's `notification` event for that message
 * fires. No connection set-up and no sleeps inside a sample.
 *
 * It calls the measured database's own wrappers (`tasker.pgmq_send_with_notify` in tasker-core),
 * in a scratch database on the same server that has a copy of its schema and pgmq: the queues, the
 * messages and the NOTIFY traffic never reach the database under test, whose listeners would wake
 * up for them. Where the run may not write (an external database without BENCH_SEED=true), every
 * bench here skips with the reason.
 */
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import type pg from 'pg'
import { connectPg } from '../harness/db/connect.ts'
import { createListener, type Listener } from '../harness/db/listener.ts'
import { benchOptions } from '../harness/bench/bench-options.ts'
import { skipReason } from '../harness/bench/requirements.ts'
import { waitForIdleBeforeFirstSample } from '../harness/bench/tasker/idle.ts'
import { openBenchDatabase, writesRefused, type BenchDatabase } from '../harness/bench/database/bench-database.ts'
import { qualifiedName } from '../harness/db/tasker-functions.ts'
import { stepMessage } from '../harness/bench/sql/statements.ts'

const NAMESPACE = 'benchmark_event_test'
const QUEUE = `worker_${NAMESPACE}_queue`
const BACKGROUND_QUEUE = 'worker_benchmark_background_queue'
const CHANNEL = `pgmq_message_ready.${NAMESPACE}`

const run = inject('run')
// The server under test is shared with the orchestrator: measure it once the orchestrator is idle.
waitForIdleBeforeFirstSample(run, 'event-propagation')
const skip = skipReason('event-propagation', writesRefused(run))
const log = (line: string) => console.log(`[event-propagation] ${line}`)
let database: BenchDatabase
let listener: Listener
let sender: pg.Client
/** the database's own wrappers, schema-qualified */
let sendWithNotify: string
let sendBatchWithNotify: string

beforeAll(async () => {
  if (skip) return
  const opened = await openBenchDatabase(run, { purpose: 'events', readOnly: false, log })
  if ('skip' in opened) throw new Error(opened.skip)
  database = opened
  sendWithNotify = qualifiedName(database.functions, 'pgmq_send_with_notify', database.name)
  sendBatchWithNotify = qualifiedName(database.functions, 'pgmq_send_batch_with_notify', database.name)
  log(`${database.reason}; calling ${sendWithNotify}`)
  sender = await connectPg(database.url, 'event-propagation sender')
  for (const queue of [QUEUE, BACKGROUND_QUEUE]) await sender.query('SELECT pgmq.create($1)', [queue])
  listener = await createListener(database.url, [CHANNEL])
}, 120_000)

afterAll(async () => {
  await listener?.close()
  await sender?.end().catch(() => {})
  await database?.close()
}, 60_000)

/** One sample: send with notify, wait for our notification, check it is ours. */
async function sendAndObserve(message: object): Promise<{ overriddenDuration: number }> {
  const observed = listener.next(CHANNEL)
  const t0 = performance.now()
  const { rows } = await sender.query<{ msg_id: string }>(`SELECT ${sendWithNotify}($1, $2::jsonb, 0) AS msg_id`, [QUEUE, message])
  const n = await observed
  const payload = JSON.parse(n.payload) as { msg_id: number | string }
  if (String(payload.msg_id) !== String(rows[0]!.msg_id)) throw new Error(`notification for msg ${payload.msg_id}, expected ${rows[0]!.msg_id}`)
  return { overriddenDuration: n.at - t0 }
}

async function batchAndObserve(messages: object[]): Promise<{ overriddenDuration: number }> {
  const observed = listener.next(CHANNEL)
  const t0 = performance.now()
  await sender.query(`SELECT ${sendBatchWithNotify}($1, $2::jsonb[], 0)`, [QUEUE, messages.map((m) => JSON.stringify(m))])
  const n = await observed
  const payload = JSON.parse(n.payload) as { event_type: string; message_count: number }
  if (payload.event_type !== 'batch_ready' || payload.message_count !== messages.length) throw new Error(`unexpected batch notification ${n.payload}`)
  return { overriddenDuration: n.at - t0 }
}

const sixKb = { ...stepMessage(), padding: 'x'.repeat(6_000) } // still sent inline (the wrapper inlines payloads under 7000 bytes)
const tenKb = { ...stepMessage(), padding: 'x'.repeat(10_000) } // over the inline limit: the notification is a signal only (payload_omitted)
const options = (samples: number) => benchOptions(run, samples, 50)

describe.skipIf(skip !== undefined)('idle', () => {
  test('small payload', async ({ bench }) => {
    const result = await bench('notify small payload', () => sendAndObserve(stepMessage())).run(options(2_000))
    expect(result.latency.samplesCount).toBeGreaterThan(0)
  })

  test('6 KB payload (inline)', async ({ bench }) => {
    await bench('notify 6KB payload', () => sendAndObserve(sixKb)).run(options(500))
  })

  test('10 KB payload (signal only)', async ({ bench }) => {
    const observed = listener.next(CHANNEL)
    await sender.query(`SELECT ${sendWithNotify}($1, $2::jsonb, 0)`, [QUEUE, tenKb])
    expect(JSON.parse((await observed).payload)).toMatchObject({ event_type: 'message_ready', payload_omitted: true })
    await bench('notify 10KB payload omitted', () => sendAndObserve(tenKb)).run(options(500))
  })

  test('batch of 10', async ({ bench }) => {
    const batch = Array.from({ length: 10 }, stepMessage)
    await bench('notify batch of 10', () => batchAndObserve(batch)).run(options(500))
  })
})

describe.skipIf(skip !== undefined)('under background load', () => {
  const SENDERS = 4
  const MAX_MESSAGES_PER_SENDER = 200_000
  const MAX_LOAD_MS = 60_000
  let stop = false
  let load: Promise<number[]>

  beforeAll(async () => {
    stop = false
    const started = performance.now()
    const senders = await Promise.all(
      Array.from({ length: SENDERS }, async () => {
        return connectPg(database.url, 'event-propagation background sender')
      }),
    )
    // Bounded in count and time; stopped by afterAll at the latest.
    load = Promise.all(
      senders.map(async (c) => {
        let sent = 0
        while (!stop && sent < MAX_MESSAGES_PER_SENDER && performance.now() - started < MAX_LOAD_MS) {
          await c.query(`SELECT ${sendWithNotify}($1, $2::jsonb, 0)`, [BACKGROUND_QUEUE, stepMessage()])
          sent++
        }
        await c.end()
        return sent
      }),
    )
  })

  afterAll(async () => {
    stop = true
    const sent = await load
    expect(sent.reduce((a, b) => a + b, 0)).toBeGreaterThan(0)
    await sender.query('SELECT pgmq.purge_queue($1)', [BACKGROUND_QUEUE])
  })

  test(`small payload, ${SENDERS} concurrent senders`, async ({ bench }) => {
    await bench('notify small payload under load', () => sendAndObserve(stepMessage())).run(options(1_000))
  })
})
