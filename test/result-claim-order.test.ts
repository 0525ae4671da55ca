/**
 * Two orchestration instances' result batches must never wait for each other in a cycle. The
 * order that guarantees it: a batch takes its tasks' row locks (sorted) before it waits for
 * anything else, and the only message rows it locks before them are claims of messages nobody
 * has read. Another batch archives only messages it claimed itself or read (leased): so it never
 * waits, holding task locks, for a message a claimer holds while that claimer waits for a task.
 *
 * The case replayed here, statement by statement in two sessions (fresh-clone CI hit it once
 * under load, with 2 s leases): instance B read a result (its lease ran out while B's batch
 * waited), B's batch locked the task; instance A's notified copy of the same message then claimed
 * it and waited for the task; B's archive waited for A's claim — deadlock.
 */
import { randomUUID } from 'node:crypto'
import { expect, test } from 'vitest'
import type pg from 'pg'
import { completeSteps, enqueueReadySteps } from '../orchestrator/index.ts'
import { migrateTasker, usePostgres } from './support/postgres.ts'

const QUEUE = 'orchestration_step_results'
const db = usePostgres(migrateTasker)

async function insertTask(q: pg.Pool): Promise<string> {
  const { rows } = await q.query<{ id: string }>(
    `WITH ns AS (INSERT INTO tasker.task_namespaces (name) VALUES ('claim_order') RETURNING task_namespace_uuid),
          nt AS (INSERT INTO tasker.named_tasks (task_namespace_uuid, name, version) SELECT task_namespace_uuid, 'claim_order', '1.0.0' FROM ns RETURNING named_task_uuid)
     INSERT INTO tasker.tasks (named_task_uuid, context, identity_hash, initiator, source_system, reason)
     SELECT named_task_uuid, '{}', $1, 'test', 'test', 'test' FROM nt RETURNING task_uuid AS id`,
    [randomUUID()],
  )
  return rows[0]!.id
}

/** Resolves when the backend `pid` waits for a lock; never resolves otherwise (race it). */
async function blockedOnLock(q: pg.Pool, pid: number, settled: () => boolean): Promise<void> {
  while (!settled()) {
    const { rows } = await q.query<{ waiting: boolean }>(`SELECT coalesce(bool_or(wait_event_type = 'Lock'), false) AS waiting FROM pg_stat_activity WHERE pid = $1`, [pid])
    if (rows[0]!.waiting) return
    await new Promise((r) => setTimeout(r, 20))
  }
}

test('a notified copy of a message another instance read (lease run out) is not claimed, so the reader archives it without waiting', async () => {
  const taskUuid = await insertTask(db.pool)
  await db.pool.query(`SELECT pgmq.create($1)`, [QUEUE])
  const sent = await db.pool.query<{ id: string }>(`SELECT pgmq.send($1, $2::jsonb) AS id`, [QUEUE, JSON.stringify({ task_uuid: taskUuid, step_uuid: randomUUID() })])
  const msgId = sent.rows[0]!.id
  // Instance B reads (leases) it; a zero-second lease stands for one that ran out.
  const read = await db.pool.query<{ read_ct: number }>(`SELECT read_ct FROM pgmq.read($1, 0, 1)`, [QUEUE])
  expect(read.rows).toEqual([{ read_ct: 1 }])

  const b = await db.pool.connect()
  const a = await db.pool.connect()
  try {
    const aPid = (await a.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid
    await b.query('BEGIN')
    await a.query('BEGIN')
    const step = { taskUuid, stepUuid: randomUUID(), msgId }
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
