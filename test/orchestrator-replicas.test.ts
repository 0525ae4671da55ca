/**
 * Two orchestration instances and four workers against one database (issue 24 §1): the instances
 * coordinate there (claimed result messages, task row locks), so every step runs once, every
 * task's state history is exact, and no result is lost — with both running, with one killed
 * (SIGKILL) mid-run, and with one paused (SIGSTOP) for longer than any lease.
 *
 * "Exact history": every task here succeeds, so an evaluation made from the latest state never
 * leaves a task waiting_for_dependencies (something is always in flight or ready until it
 * completes); an evaluation from a stale snapshot (two instances evaluating one task at once)
 * does. Each task's transitions must therefore be exactly
 *   pending → initializing → enqueuing_steps → steps_in_process
 *   (→ evaluating_results → enqueuing_steps → steps_in_process)* → evaluating_results → complete.
 */
import { describe, expect, test } from 'vitest'
import { createTask, errorLines, taskBody, useOrchestrator, waitForTasks } from './support/orchestrator.ts'
import type { TestPostgres } from './support/postgres.ts'

// Leases: result messages 2 s (TEST_ENV), task locks and idle transactions 6 s, lost sends 5 s.
const LOCK_TIMEOUT_MS = 6000
const LONGER_THAN_ANY_LEASE_MS = 10_000
const o = useOrchestrator({ orchestrators: 2, workers: 4, env: { TASKER_LOCK_TIMEOUT_MS: String(LOCK_TIMEOUT_MS) } })

const SHAPES = ['linear', 'diamond', 'tree', 'mixed'] as const
const STEPS = { linear: 3, diamond: 4, tree: 8, mixed: 7 }
const EXACT_HISTORY = /^pending,initializing,enqueuing_steps,steps_in_process(,evaluating_results,enqueuing_steps,steps_in_process)*,evaluating_results,complete$/

/** `count` tasks of every shape in turn, created 50 at a time through the round-robin front. */
async function createTasks(count: number, context: Record<string, unknown> = {}): Promise<string[]> {
  const ids: string[] = []
  let next = 0
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < count) {
        const i = next++
        ids.push(await createTask(o.url, taskBody(SHAPES[i % 4]!, { even_number: 2 + (i % 7) * 2, ...context })))
      }
    }),
  )
  return ids
}

/** Steps ran once, were completed once, each task's history is exact; returns the completions per instance. */
async function expectExactlyOnce(db: TestPostgres, ids: string[]): Promise<Map<string, number>> {
  const steps = await db.pool.query<{ step_uuid: string; claims: number; completes: number; processor: string | null }>(
    `SELECT ws.workflow_step_uuid AS step_uuid,
            count(*) FILTER (WHERE tr.to_state = 'in_progress')::int AS claims,
            count(*) FILTER (WHERE tr.to_state = 'complete')::int AS completes,
            max(tr.metadata->>'processor') FILTER (WHERE tr.to_state = 'complete') AS processor
     FROM tasker.workflow_steps ws JOIN tasker.workflow_step_transitions tr USING (workflow_step_uuid)
     WHERE ws.task_uuid = ANY ($1::uuid[])
     GROUP BY ws.workflow_step_uuid`,
    [ids],
  )
  const expectedSteps = ids.length / 4 * (STEPS.linear + STEPS.diamond + STEPS.tree + STEPS.mixed)
  expect(steps.rows.length).toBe(expectedSteps)
  expect(steps.rows.filter((r) => r.claims !== 1 || r.completes !== 1)).toEqual([])

  const histories = await db.pool.query<{ task_uuid: string; states: string; chained: boolean; keys: boolean; current: number }>(
    `SELECT task_uuid,
            string_agg(to_state, ',' ORDER BY sort_key) AS states,
            bool_and(from_state IS NOT DISTINCT FROM prev) AS chained,
            bool_and(sort_key = n) AS keys,
            count(*) FILTER (WHERE most_recent AND n = total)::int AS current
     FROM (SELECT task_uuid, to_state, from_state, sort_key, most_recent,
                  lag(to_state) OVER w AS prev, row_number() OVER w AS n, count(*) OVER (PARTITION BY task_uuid) AS total
           FROM tasker.task_transitions WHERE task_uuid = ANY ($1::uuid[])
           WINDOW w AS (PARTITION BY task_uuid ORDER BY sort_key)) x
     GROUP BY task_uuid`,
    [ids],
  )
  expect(histories.rows.length).toBe(ids.length)
  expect(histories.rows.filter((r) => !EXACT_HISTORY.test(r.states) || !r.chained || !r.keys || r.current !== 1)).toEqual([])

  // No result left behind.
  const left = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pgmq.q_orchestration_step_results`)
  expect(left.rows[0]!.n).toBe(0)
  const byProcessor = new Map<string, number>()
  for (const r of steps.rows) byProcessor.set(r.processor ?? '?', (byProcessor.get(r.processor ?? '?') ?? 0) + 1)
  return byProcessor
}

/** Resolves once `fraction` of the tasks' steps are complete. */
async function waitForProgress(db: TestPostgres, ids: string[], fraction: number): Promise<void> {
  const target = Math.ceil(fraction * (ids.length / 4) * (STEPS.linear + STEPS.diamond + STEPS.tree + STEPS.mixed))
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    const { rows } = await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM tasker.workflow_steps ws WHERE ws.task_uuid = ANY ($1::uuid[]) AND ws.processed`,
      [ids],
    )
    if (rows[0]!.n >= target) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`fewer than ${target} steps complete after 60 s`)
}

async function incomplete(db: TestPostgres, ids: string[]): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM tasker.tasks WHERE task_uuid = ANY ($1::uuid[]) AND NOT complete`, [ids])
  return rows[0]!.n
}

describe('orchestration replicas: 2 instances, 4 workers, one database', () => {
  test('1000 concurrent tasks of every shape: each step runs and completes once, each history is exact, both instances work', async () => {
    const ids = await createTasks(1000)
    expect(ids).toHaveLength(1000)
    await waitForTasks(o.db, ids, ['complete'], 240_000)
    const byProcessor = await expectExactlyOnce(o.db, ids)
    // Both instances completed results (each names itself in the completions it writes).
    expect([...byProcessor.keys()].filter((p) => p.startsWith('orchestration-'))).toHaveLength(2)
    expect(errorLines(o.orchestrator.logDir)).toEqual([])
  }, 300_000)

  test('one instance paused (SIGSTOP) longer than any lease: the other finishes every task meanwhile', async () => {
    // Steps take 100 ms, so the run lasts several seconds and the pause lands in the middle.
    const ids = await createTasks(200, { bench_sleep_ms: 100 })
    await waitForProgress(o.db, ids, 0.2)
    const pausedAt = Date.now()
    await o.orchestrator.signalOrchestration(0, 'SIGSTOP')
    try {
      expect(await incomplete(o.db, ids)).toBeGreaterThan(0)
      await waitForTasks(o.db, ids, ['complete'], 120_000)
      const left = LONGER_THAN_ANY_LEASE_MS - (Date.now() - pausedAt)
      if (left > 0) await new Promise((r) => setTimeout(r, left))
    } finally {
      await o.orchestrator.signalOrchestration(0, 'SIGCONT')
    }
    // The resumed instance finds its transactions ended and its claims taken over: it changes nothing.
    const resumed = o.orchestrator.orchestrations[0]!.url
    for (let i = 0; i < 100 && !(await fetch(`${resumed}/health`).then((r) => r.ok, () => false)); i++) await new Promise((r) => setTimeout(r, 100))
    await new Promise((r) => setTimeout(r, 1000))
    await expectExactlyOnce(o.db, ids)
  }, 240_000)

  test('one instance killed (SIGKILL) mid-run: the other finishes every task', async () => {
    const ids = await createTasks(200, { bench_sleep_ms: 100 })
    await waitForProgress(o.db, ids, 0.2)
    await o.orchestrator.signalOrchestration(0, 'SIGKILL')
    expect(await incomplete(o.db, ids)).toBeGreaterThan(0)
    await waitForTasks(o.db, ids, ['complete'], 120_000)
    await expectExactlyOnce(o.db, ids)
    // The survivor logged nothing wrong (the killed one's log ends where it died).
    expect(errorLines(o.orchestrator.logDir).filter((l) => !l.startsWith('orchestration-1.log'))).toEqual([])
  }, 240_000)
})
