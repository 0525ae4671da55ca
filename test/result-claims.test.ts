/**
 * How a result batch claims the messages notifications offered it (completeSteps).
 *
 * 1. Two orchestration instances' batches never wait for each other in a cycle: a batch takes its
 *    tasks' row locks (sorted) before it waits for anything else, and the only message rows it
 *    locks before them are claims of messages nobody has read, while another batch archives only
 *    messages it claimed itself or read (leased). Replayed statement by statement in two sessions
 *    (fresh-clone CI hit it once under load, with 2 s leases): instance B read a result (its lease
 *    ran out while B's batch waited), B's batch locked the task; instance A's notified copy of the
 *    same message then claimed it and waited for the task; B's archive waited for A's claim.
 * 2. A notification is only a hint: a claim holds only if the queued message names the same task
 *    and step.
 */
import { expect, test } from 'vitest'
import type pg from 'pg'
import { completeSteps, enqueueReadySteps } from '../orchestrator/index.ts'
import { backendPid, blockedOnLock, insertTask, stepState } from './support/handmade-task.ts'
import { migrateTasker, usePostgres } from './support/postgres.ts'

const QUEUE = 'orchestration_step_results'
const db = usePostgres(async (pool) => {
  await migrateTasker(pool)
  await pool.query(`SELECT pgmq.create($1)`, [QUEUE])
})

async function sendResult(q: pg.Pool, taskUuid: string, stepUuid: string): Promise<string> {
  const { rows } = await q.query<{ id: string }>(`SELECT pgmq.send($1, $2::jsonb) AS id`, [QUEUE, JSON.stringify({ task_uuid: taskUuid, step_uuid: stepUuid })])
  return rows[0]!.id
}

test('a notified copy of a message another instance read (lease run out) is not claimed, so the reader archives it without waiting', async () => {
  const { taskUuid, steps } = await insertTask(db.pool, 'claims', 2, 'enqueued_for_orchestration')
  const msgId = await sendResult(db.pool, taskUuid, steps[0]!)
  // Instance B reads (leases) it; a zero-second lease stands for one that ran out.
  const read = await db.pool.query<{ read_ct: number }>(`SELECT read_ct FROM pgmq.read($1, 0, 1)`, [QUEUE])
  expect(read.rows).toEqual([{ read_ct: 1 }])

  const b = await db.pool.connect()
  const a = await db.pool.connect()
  try {
    const aPid = await backendPid(a)
    await b.query('BEGIN')
    await a.query('BEGIN')
    const step = { taskUuid, stepUuid: steps[0]!, msgId }
    // B's batch: the read message is B's already; the task is locked.
    await completeSteps(b, [{ ...step, notified: false }], 'orchestration-b')
    // A's batch: the same message, offered by its notification.
    let aDone = false
    const aClaim = completeSteps(a, [{ ...step, notified: true }], 'orchestration-a').finally(() => (aDone = true))
    await Promise.race([aClaim, blockedOnLock(db.pool, aPid, () => aDone)])
    // B evaluates and archives its message.
    const bArchive = enqueueReadySteps(b, [taskUuid], { reason: 'test' }, { msgIds: [msgId] })
    const [aResult, bResult] = await Promise.allSettled([aClaim, bArchive])
    expect(bResult.status === 'rejected' ? String(bResult.reason) : 'archived').toBe('archived')
    expect(aResult.status === 'fulfilled' ? aResult.value.map((r) => r.claimed) : String(aResult.reason)).toEqual([false])
    await b.query('COMMIT')
    await a.query('COMMIT')
    const archived = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pgmq.a_orchestration_step_results WHERE msg_id = $1`, [msgId])
    expect(archived.rows[0]!.n).toBe(1)
  } finally {
    await a.query('ROLLBACK').catch(() => {})
    await b.query('ROLLBACK').catch(() => {})
    a.release()
    b.release()
  }
}, 60_000)

test('a notification naming a queued message with another step (any role may NOTIFY) completes nothing and leaves the message for the poll', async () => {
  const { taskUuid, steps } = await insertTask(db.pool, 'claims', 2, 'enqueued_for_orchestration')
  const msgId = await sendResult(db.pool, taskUuid, steps[0]!)
  const forged = await completeSteps(db.pool, [{ taskUuid, stepUuid: steps[1]!, msgId, notified: true }], 'orchestration-a')
  expect(forged.map((r) => r.claimed)).toEqual([false])
  expect(await stepState(db.pool, steps[1]!)).toBe('enqueued_for_orchestration')
  // The real notification still claims it and completes the step the message names.
  const real = await completeSteps(db.pool, [{ taskUuid, stepUuid: steps[0]!, msgId, notified: true }], 'orchestration-a')
  expect(real.map((r) => [r.claimed, r.completed])).toEqual([[true, true]])
  expect(await stepState(db.pool, steps[0]!)).toBe('complete')
})
