/**
 * Tasks written straight into the reference orchestrator's schema (no service running), for tests
 * that replay the services' statements session by session, and the lock probes such tests need.
 */
import { randomUUID } from 'node:crypto'
import type pg from 'pg'

const HAPPY_PATH = ['pending', 'enqueued', 'in_progress', 'enqueued_for_orchestration', 'complete'] as const
export type HappyState = (typeof HAPPY_PATH)[number]

let unique = 0

/**
 * A task of namespace `namespace` with `stepCount` independent steps, each moved along the happy
 * path (pending → enqueued → in_progress → …) up to `state`; returns the ids.
 */
export async function insertTask(q: pg.Pool, namespace: string, stepCount: number, state: HappyState): Promise<{ taskUuid: string; steps: string[] }> {
  const name = `${namespace}_${++unique}`
  const { rows } = await q.query<{ task_uuid: string; steps: string[] }>(
    `WITH ns AS (INSERT INTO tasker.task_namespaces (name) VALUES ($1) ON CONFLICT (name) DO UPDATE SET updated_at = now() RETURNING task_namespace_uuid),
          nt AS (INSERT INTO tasker.named_tasks (task_namespace_uuid, name, version) SELECT task_namespace_uuid, $2, '1.0.0' FROM ns RETURNING named_task_uuid),
          t AS (INSERT INTO tasker.tasks (named_task_uuid, context, identity_hash, initiator, source_system, reason)
                SELECT named_task_uuid, '{}', $3, 'test', 'test', 'test' FROM nt RETURNING task_uuid),
          nst AS (INSERT INTO tasker.named_steps (name) SELECT $2 || '_' || n FROM generate_series(1, $4::int) n RETURNING named_step_uuid),
          ws AS (INSERT INTO tasker.workflow_steps (task_uuid, named_step_uuid) SELECT t.task_uuid, nst.named_step_uuid FROM t, nst RETURNING workflow_step_uuid)
     SELECT (SELECT task_uuid FROM t) AS task_uuid, ARRAY(SELECT workflow_step_uuid::text FROM ws) AS steps`,
    [namespace, name, randomUUID(), stepCount],
  )
  const { task_uuid: taskUuid, steps } = rows[0]!
  for (const step of steps) {
    let from: string | null = null
    for (const to of HAPPY_PATH.slice(0, HAPPY_PATH.indexOf(state) + 1)) {
      await q.query(`SELECT tasker.transition_step($1, $2, $3)`, [step, from === null ? null : [from], to])
      from = to
    }
  }
  return { taskUuid, steps }
}

/** The step's current state. */
export async function stepState(q: pg.Pool, stepUuid: string): Promise<string> {
  const { rows } = await q.query<{ to_state: string }>(`SELECT to_state FROM tasker.workflow_step_transitions WHERE workflow_step_uuid = $1 AND most_recent`, [stepUuid])
  return rows[0]!.to_state
}

/** The backend process id of a session. */
export async function backendPid(client: pg.PoolClient): Promise<number> {
  return (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid
}

/**
 * Resolves when backend `pid` waits for a lock, or once `settled()` says its statement ended
 * without waiting (race it against that statement).
 */
export async function blockedOnLock(q: pg.Pool, pid: number, settled: () => boolean): Promise<void> {
  for (let i = 0; i < 1500 && !settled(); i++) {
    const { rows } = await q.query<{ waiting: boolean }>(`SELECT coalesce(bool_or(wait_event_type = 'Lock'), false) AS waiting FROM pg_stat_activity WHERE pid = $1`, [pid])
    if (rows[0]!.waiting) return
    await new Promise((r) => setTimeout(r, 20))
  }
}
