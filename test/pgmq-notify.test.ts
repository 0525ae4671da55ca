/**
 * Tasker's notify wrappers (orchestrator/migrations/0004_tasker_pgmq_notify.sql, in schema
 * tasker as in tasker-core): what a LISTENing worker receives, on which channel, and that each
 * send is announced exactly once.
 */
import { readFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pg from 'pg'
import path from 'node:path'
import { installPgmq, migrationsDir, sendMessages } from '../orchestrator/index.ts'
import { usePostgres } from './support/postgres.ts'

const NOTIFY_MIGRATION = path.join(migrationsDir, '0004_tasker_pgmq_notify.sql')
const CHANNELS = [
  'pgmq_message_ready',
  'pgmq_message_ready.orchestration',
  'pgmq_message_ready.payments',
  'pgmq_message_ready.default',
  'pgmq_queue_created',
]
const QUEUES = ['orchestration_step_results', 'worker_payments_queue', 'plain_inbox']

const db = usePostgres(async (pool) => {
  // At teardown the server can stop before the pool's idle connections have closed; pg.Pool
  // re-emits their shutdown error as an 'error' event, which must not become an uncaught error.
  pool.on('error', () => {})
  const client = await pool.connect()
  try {
    await installPgmq(client)
    // Applied twice: the migration must be idempotent.
    const migration = await readFile(NOTIFY_MIGRATION, 'utf8')
    await client.query(migration)
    await client.query(migration)
    for (const q of QUEUES) await client.query('SELECT pgmq.create($1)', [q])
  } finally {
    client.release()
  }
})

interface Received {
  channel: string
  payload: string
  body: Record<string, unknown>
}

/** A dedicated LISTEN connection that keeps everything it receives, in order. */
let listener: pg.Client
const received: Received[] = []

beforeAll(async () => {
  listener = new pg.Client({ connectionString: db.server.url })
  listener.on('error', () => {}) // the server stopping in afterAll must not crash the run
  listener.on('notification', (n) => {
    const payload = n.payload ?? ''
    received.push({ channel: n.channel, payload, body: JSON.parse(payload) as Record<string, unknown> })
  })
  await listener.connect()
  for (const channel of CHANNELS) await listener.query(`LISTEN ${listener.escapeIdentifier(channel)}`)
})

afterAll(async () => {
  await listener?.end()
})

/** Waits (bounded) until a notification matching `match` has arrived, and returns it. */
async function waitFor(match: (r: Received) => boolean, what: string): Promise<Received> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const hit = received.find(match)
    if (hit) return hit
    if (Date.now() > deadline) throw new Error(`no notification ${what} within 10 s; received: ${received.map((r) => `${r.channel} ${r.payload.slice(0, 120)}`).join('\n')}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/**
 * Everything the database delivered up to now. NOTIFYs reach a listener in commit order, so
 * once a marker sent afterwards has arrived, anything the earlier statements notified (a
 * duplicate, a notification that should not exist) has arrived too.
 */
let markerCounter = 0
async function drained(): Promise<Received[]> {
  const marker = `marker_${++markerCounter}`
  await db.pool.query(`SELECT pg_notify('pgmq_message_ready', $1)`, [JSON.stringify({ marker })])
  await waitFor((r) => r.body.marker === marker, `for ${marker}`)
  return received.filter((r) => r.body.marker === undefined)
}

function forMessage(queue: string, msgId: string) {
  return (r: Received) => r.body.queue_name === queue && String(r.body.msg_id) === msgId
}

async function sendWithNotify(queue: string, message: unknown, delay?: number): Promise<string> {
  const { rows } = delay === undefined
    ? await db.pool.query<{ id: string }>('SELECT tasker.pgmq_send_with_notify($1, $2::jsonb) AS id', [queue, JSON.stringify(message)])
    : await db.pool.query<{ id: string }>('SELECT tasker.pgmq_send_with_notify($1, $2::jsonb, $3::int) AS id', [queue, JSON.stringify(message), delay])
  return rows[0]!.id
}

describe('extract_queue_namespace', () => {
  it.each([
    ['orchestration_step_results', 'orchestration'],
    ['orchestration_task_requests', 'orchestration'],
    ['orchestration', 'orchestration'],
    ['worker_payments_queue', 'payments'],
    ['worker_order_fulfillment_queue', 'order_fulfillment'],
    ['payments_queue', 'payments'],
    ['inventory_queue', 'inventory'],
    ['plain_inbox', 'default'],
    ['worker_payments', 'default'],
    ['_queue', 'default'],
    // tasker-core's rules at their edges: worker_ with nothing before _queue, a name not starting
    // with a letter, and characters other than letters, digits and _.
    ['worker__queue', 'worker'],
    ['9lives_queue', 'default'],
    ['pay-ments_queue', 'default'],
    ['orchestrationally', 'orchestration'],
  ])('%s -> %s', async (queue, namespace) => {
    const { rows } = await db.pool.query('SELECT tasker.extract_queue_namespace($1) AS ns', [queue])
    expect(rows[0].ns).toBe(namespace)
  })
})

describe('pgmq_send_with_notify', () => {
  it('sends the message and announces it inline on the namespace channel and the global channel', async () => {
    const queue = 'worker_payments_queue'
    const message = { task_uuid: '0190f5b6-1d1e-7000-8000-000000000001', step_uuid: '0190f5b6-1d1e-7000-8000-000000000002', correlation_id: 'c-1' }
    const id = await sendWithNotify(queue, message)

    const perNamespace = await waitFor((r) => r.channel === 'pgmq_message_ready.payments' && forMessage(queue, id)(r), 'on pgmq_message_ready.payments')
    const global = await waitFor((r) => r.channel === 'pgmq_message_ready' && forMessage(queue, id)(r), 'on pgmq_message_ready')
    expect(global.payload).toBe(perNamespace.payload)
    expect(perNamespace.body).toEqual({
      event_type: 'message_with_payload',
      msg_id: Number(id),
      queue_name: queue,
      namespace: 'payments',
      message,
      ready_at: expect.any(String),
      delay_seconds: 0,
    })
    expect(Number.isNaN(Date.parse(perNamespace.body.ready_at as string))).toBe(false)

    // The message is really in the queue.
    const { rows } = await db.pool.query('SELECT msg_id, message FROM pgmq.read($1, 30, 10)', [queue])
    expect(rows).toContainEqual({ msg_id: id, message })
  })

  it('announces exactly once per channel, and only on the queue\'s namespace channel', async () => {
    const queue = 'orchestration_step_results'
    const id = await sendWithNotify(queue, { n: 1 })
    const all = (await drained()).filter(forMessage(queue, id))
    expect(all.map((r) => r.channel).sort()).toEqual(['pgmq_message_ready', 'pgmq_message_ready.orchestration'])
  })

  it('uses the default namespace for names without a known shape', async () => {
    const id = await sendWithNotify('plain_inbox', { n: 1 })
    const hit = await waitFor((r) => r.channel === 'pgmq_message_ready.default' && forMessage('plain_inbox', id)(r), 'on pgmq_message_ready.default')
    expect(hit.body.namespace).toBe('default')
  })

  it('keeps a ~6 KB message inline (message text under 7000 characters)', async () => {
    const queue = 'worker_payments_queue'
    const message = { blob: 'x'.repeat(6000) }
    const id = await sendWithNotify(queue, message)
    const hit = await waitFor((r) => r.channel === 'pgmq_message_ready' && forMessage(queue, id)(r), 'for the 6 KB message')
    expect(Buffer.byteLength(hit.payload)).toBeLessThan(7000)
    expect(hit.body.event_type).toBe('message_with_payload')
    expect(hit.body.message).toEqual(message)
  })

  it('omits a message whose text reaches 7000 characters, and the queue still has it in full', async () => {
    const queue = 'worker_payments_queue'
    const message = { blob: 'y'.repeat(7500) }
    const id = await sendWithNotify(queue, message)
    const hit = await waitFor((r) => r.channel === 'pgmq_message_ready.payments' && forMessage(queue, id)(r), 'for the large message')
    expect(hit.body).toEqual({
      event_type: 'message_ready',
      msg_id: Number(id),
      queue_name: queue,
      namespace: 'payments',
      ready_at: expect.any(String),
      delay_seconds: 0,
      payload_omitted: true,
    })
    const { rows } = await db.pool.query('SELECT message FROM pgmq.q_worker_payments_queue WHERE msg_id = $1', [id])
    expect(rows[0].message).toEqual(message)
  })

  it('decides by characters, as tasker-core does, but never sends a notification over 7800 bytes', async () => {
    // 2400 three-byte characters: 2400 characters, 7200 bytes, and the notification fits: inline.
    const queue = 'worker_payments_queue'
    const fits = await sendWithNotify(queue, { text: '€'.repeat(2400) })
    const inline = await waitFor((r) => r.channel === 'pgmq_message_ready' && forMessage(queue, fits)(r), 'for the 7200-byte message')
    expect(inline.body.event_type).toBe('message_with_payload')
    // 2700 of them: under 7000 characters, but the notification would pass pg_notify's 8000
    // bytes: announced without the message, and the send succeeds.
    const big = await sendWithNotify(queue, { text: '€'.repeat(2700) })
    const omitted = await waitFor((r) => r.channel === 'pgmq_message_ready' && forMessage(queue, big)(r), 'for the 8100-byte message')
    expect(omitted.body).toMatchObject({ event_type: 'message_ready', payload_omitted: true })
    expect(Buffer.byteLength(omitted.payload)).toBeLessThanOrEqual(7800)
  })

  it('tasker.pgmq_payload_size_threshold() is 7000', async () => {
    const { rows } = await db.pool.query('SELECT tasker.pgmq_payload_size_threshold() AS t')
    expect(rows[0].t).toBe(7000)
  })

  it('reports the delay; ready_at is the send time, as in tasker-core', async () => {
    const queue = 'worker_payments_queue'
    const id = await sendWithNotify(queue, { later: true }, 120)
    const hit = await waitFor((r) => r.channel === 'pgmq_message_ready' && forMessage(queue, id)(r), 'for the delayed message')
    expect(hit.body.delay_seconds).toBe(120)
    const { rows } = await db.pool.query<{ enqueued_at: Date; vt: Date }>('SELECT enqueued_at, vt FROM pgmq.q_worker_payments_queue WHERE msg_id = $1', [id])
    // The transaction's now(), which is also the row's enqueued_at; the message is visible 120 s later.
    expect(Date.parse(hit.body.ready_at as string)).toBe(rows[0]!.enqueued_at.getTime())
    expect(rows[0]!.vt.getTime() - rows[0]!.enqueued_at.getTime()).toBeGreaterThanOrEqual(119_000)
  })

  it('notifies nothing and sends nothing when the transaction rolls back', async () => {
    const queue = 'plain_inbox'
    const client = await db.pool.connect()
    let id: string
    try {
      await client.query('BEGIN')
      const { rows } = await client.query<{ id: string }>(`SELECT tasker.pgmq_send_with_notify($1, '{"rolled":"back"}') AS id`, [queue])
      id = rows[0]!.id
      await client.query('ROLLBACK')
    } finally {
      client.release()
    }
    expect((await drained()).filter(forMessage(queue, id))).toEqual([])
    const { rows } = await db.pool.query('SELECT 1 FROM pgmq.q_plain_inbox WHERE msg_id = $1', [id])
    expect(rows).toEqual([])
  })
})

describe('pgmq_send_batch_with_notify', () => {
  it('sends every message and announces the batch once per channel', async () => {
    const queue = 'worker_payments_queue'
    const messages = [{ n: 1 }, { n: 2 }, { n: 3 }]
    const { rows } = await db.pool.query<{ id: string }>('SELECT id FROM tasker.pgmq_send_batch_with_notify($1, $2::jsonb[], 0) AS id', [
      queue,
      messages.map((m) => JSON.stringify(m)),
    ])
    const ids = rows.map((r) => Number(r.id))
    expect(ids).toHaveLength(3)

    const batch = (await drained()).filter((r) => r.body.event_type === 'batch_ready' && JSON.stringify(r.body.msg_ids) === JSON.stringify(ids))
    expect(batch.map((r) => r.channel).sort()).toEqual(['pgmq_message_ready', 'pgmq_message_ready.payments'])
    expect(batch[0]!.body).toEqual({
      event_type: 'batch_ready',
      msg_ids: ids,
      queue_name: queue,
      namespace: 'payments',
      message_count: 3,
      ready_at: expect.any(String),
      delay_seconds: 0,
    })
    const stored = await db.pool.query('SELECT message FROM pgmq.q_worker_payments_queue WHERE msg_id = ANY($1::bigint[]) ORDER BY msg_id', [ids])
    expect(stored.rows.map((r) => r.message)).toEqual(messages)
  })

  it('announces a batch too large to list its ids by count, with payload_omitted', async () => {
    const queue = 'orchestration_step_results'
    const messages = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ i }))
    const { rows } = await db.pool.query('SELECT id FROM tasker.pgmq_send_batch_with_notify($1, $2::jsonb[], 0) AS id', [queue, messages])
    expect(rows).toHaveLength(3000)
    const hit = await waitFor((r) => r.channel === 'pgmq_message_ready.orchestration' && r.body.event_type === 'batch_ready' && r.body.message_count === 3000, 'for the large batch')
    expect(hit.body.payload_omitted).toBe(true)
    expect(hit.body.msg_ids).toBeUndefined()
  })

  it('an empty batch sends and announces nothing', async () => {
    const { rows } = await db.pool.query(`SELECT id FROM tasker.pgmq_send_batch_with_notify('plain_inbox', ARRAY[]::jsonb[]) AS id`)
    expect(rows).toEqual([])
    expect((await drained()).filter((r) => r.body.event_type === 'batch_ready' && r.body.message_count === 0)).toEqual([])
  })
})

describe('queue creation', () => {
  it('announces a new queue on pgmq_queue_created, once', async () => {
    await db.pool.query(`SELECT pgmq.create('worker_billing_queue')`)
    await db.pool.query(`SELECT pgmq.create('worker_billing_queue')`) // already exists
    const created = (await drained()).filter((r) => r.channel === 'pgmq_queue_created' && r.body.queue_name === 'worker_billing_queue')
    expect(created).toHaveLength(1)
    expect(created[0]!.body).toEqual({
      event_type: 'queue_created',
      queue_name: 'worker_billing_queue',
      namespace: 'billing',
      created_at: expect.any(String),
    })
  })

  it('a queue created in a transaction is announced with the namespace of its name', async () => {
    await db.pool.query(`SELECT pgmq.create('orchestration_task_finalizations')`)
    const hit = await waitFor((r) => r.channel === 'pgmq_queue_created' && r.body.queue_name === 'orchestration_task_finalizations', 'for the created queue')
    expect(hit.body.namespace).toBe('orchestration')
    const { rows } = await db.pool.query(`SELECT 1 FROM pgmq.list_queues() WHERE queue_name = 'orchestration_task_finalizations'`)
    expect(rows).toHaveLength(1)
  })
})

describe("the reference orchestrator's sender (sendMessages: queue insert + the same announcements)", () => {
  it('announces one message like pgmq_send_with_notify and several like pgmq_send_batch_with_notify', async () => {
    const queue = 'worker_payments_queue'
    const one = { task_uuid: '0190f5b6-1d1e-7000-8000-0000000000a1', step_uuid: '0190f5b6-1d1e-7000-8000-0000000000a2', correlation_id: 'c-one' }
    const [id] = await sendMessages(db.pool, queue, [one])
    const single = (await drained()).filter(forMessage(queue, id!))
    expect(single.map((r) => r.channel).sort()).toEqual(['pgmq_message_ready', 'pgmq_message_ready.payments'])
    expect(single[0]!.body).toMatchObject({ event_type: 'message_with_payload', msg_id: Number(id), queue_name: queue, namespace: 'payments', message: one, delay_seconds: 0 })

    const many = [1, 2, 3].map((n) => ({ ...one, correlation_id: `c-${n}` }))
    const ids = await sendMessages(db.pool, queue, many)
    expect(ids).toHaveLength(3)
    const batch = (await drained()).filter((r) => r.body.event_type === 'batch_ready' && JSON.stringify(r.body.msg_ids) === JSON.stringify(ids.map(Number)))
    expect(batch.map((r) => r.channel).sort()).toEqual(['pgmq_message_ready', 'pgmq_message_ready.payments'])
    expect(batch[0]!.body).toMatchObject({ queue_name: queue, namespace: 'payments', message_count: 3 })

    // In the queue in the order given, readable by pgmq.
    const { rows } = await db.pool.query<{ msg_id: string; message: unknown }>('SELECT msg_id::text, message FROM pgmq.read($1, 30, 1000)', [queue])
    expect(rows.filter((r) => ids.includes(r.msg_id)).map((r) => r.message)).toEqual(many)
    expect(await sendMessages(db.pool, queue, [])).toEqual([])
  })
})
