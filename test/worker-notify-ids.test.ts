/**
 * A crafted NOTIFY cannot make a worker drop the messages it names (issue 21 §8). Any role may
 * NOTIFY on `pgmq_message_ready.<namespace>`; an id beyond bigint's range, or not a number, is
 * left out on its own (one WARN for the process) and the rest of the batch is still claimed at
 * once. The fallback poll is set to 10 minutes, so only the notification can be what claims the
 * message within the test's deadline. The orchestration service, which takes the step result a
 * notification carries, likewise ignores one whose msg_id is out of range. Real processes, real
 * PostgreSQL and pgmq.
 */
import { randomUUID } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { createTask, errorLines, taskBody, useOrchestrator, waitForTasks } from './support/orchestrator.ts'

const QUEUE = 'worker_linear_workflow_queue'
const CHANNEL = 'pgmq_message_ready.linear_workflow'
const CLAIM_DEADLINE_MS = 15_000

describe('a NOTIFY naming ids out of the bigint range next to a real one', () => {
  const o = useOrchestrator({ workers: 1, env: { TASKER_POLL_INTERVAL_MS: '600000' } })

  /** A message the worker has not heard of: pgmq.send notifies nobody (the tasker.* wrappers do). */
  const sendSilently = async (): Promise<string> => {
    const { rows } = await o.db.pool.query<{ id: string }>(`SELECT pgmq.send($1, $2::jsonb) AS id`, [QUEUE, JSON.stringify({ task_uuid: randomUUID(), step_uuid: randomUUID() })])
    return rows[0]!.id
  }
  const archived = async (msgId: string): Promise<boolean> => {
    const { rows } = await o.db.pool.query(`SELECT 1 FROM pgmq.a_${QUEUE} WHERE msg_id = $1`, [msgId])
    return rows.length === 1
  }
  const notify = (payload: unknown) => o.db.pool.query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify(payload)])
  const waitArchived = async (msgId: string): Promise<boolean> => {
    const deadline = Date.now() + CLAIM_DEADLINE_MS
    while (Date.now() < deadline) {
      if (await archived(msgId)) return true
      await new Promise((r) => setTimeout(r, 100))
    }
    return false
  }

  test('the worker hears notifications (a real task completes with the poll this slow)', async () => {
    const id = await createTask(o.url, taskBody('linear'))
    await waitForTasks(o.db, [id], ['complete'], 60_000)
  }, 90_000)

  test('the real id is claimed at once (its message, naming no step, archived); the bad ones are ignored with one warning', async () => {
    for (const bad of [['9999999999999999999', '9223372036854775808'], ['not-a-number', -3, 1e300]]) {
      const msgId = await sendSilently()
      // not claimed without a notification: the poll is 10 minutes away
      await new Promise((r) => setTimeout(r, 500))
      expect(await archived(msgId)).toBe(false)
      await notify({ event_type: 'batch_ready', queue_name: QUEUE, msg_ids: [bad[0], msgId, ...bad.slice(1)], namespace: 'linear_workflow' })
      expect(await waitArchived(msgId), `message ${msgId} still not claimed ${CLAIM_DEADLINE_MS} ms after the notification named it`).toBe(true)
    }
    expect(errorLines(o.orchestrator.logDir)).toEqual([])
    const warnings = readdirSync(o.orchestrator.logDir)
      .filter((f) => f.startsWith('worker'))
      .flatMap((f) => readFileSync(path.join(o.orchestrator.logDir, f), 'utf8').split('\n'))
      .filter((l) => /ignored msg_ids/.test(l))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain('9999999999999999999')
  }, 90_000)

  test('orchestration ignores a carried step result whose msg_id is out of range: nothing fails, tasks still complete', async () => {
    const before = await createTask(o.url, taskBody('linear'))
    await o.db.pool.query('SELECT pg_notify($1, $2)', [
      'pgmq_message_ready.orchestration',
      JSON.stringify({ event_type: 'message_with_payload', queue_name: 'orchestration_step_results', msg_id: '9999999999999999999', message: { task_uuid: randomUUID(), step_uuid: randomUUID() } }),
    ])
    const after = await createTask(o.url, taskBody('linear'))
    await waitForTasks(o.db, [before, after], ['complete'], 60_000)
    expect(errorLines(o.orchestrator.logDir)).toEqual([])
  }, 90_000)
})
