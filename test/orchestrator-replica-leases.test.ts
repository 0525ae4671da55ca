/**
 * Two orchestration instances with the default 30 s visibility timeout and a 20 ms fallback poll,
 * so that the poll often reads (and leases) a step result whose notification every instance has
 * also offered. Every such collision must end with the result processed at once, never with the
 * message leased by an instance that dropped it: that message would wait out the whole lease
 * (30 s, far beyond each round's bound here) — the compose bench's intermittent stalled task.
 */
import { describe, expect, test } from 'vitest'
import { createTask, errorLines, taskBody, useOrchestrator, waitForTasks } from './support/orchestrator.ts'

const VISIBILITY_TIMEOUT_S = 30
const ROUND_BOUND_MS = 10_000
const ROUNDS = 40
const TASKS_PER_ROUND = 10
const o = useOrchestrator({ orchestrators: 2, workers: 2, env: { TASKER_VISIBILITY_TIMEOUT_S: String(VISIBILITY_TIMEOUT_S), TASKER_POLL_INTERVAL_MS: '20' } })

describe('orchestration replicas: polls colliding with notifications', () => {
  test(`${ROUNDS} rounds of ${TASKS_PER_ROUND} concurrent tasks: each round finishes within ${ROUND_BOUND_MS / 1000} s, far below the ${VISIBILITY_TIMEOUT_S} s lease`, async () => {
    const all: string[] = []
    for (let round = 0; round < ROUNDS; round++) {
      const shape = round % 2 === 0 ? 'linear' : 'diamond'
      const ids = await Promise.all(Array.from({ length: TASKS_PER_ROUND }, () => createTask(o.url, taskBody(shape))))
      await waitForTasks(o.db, ids, ['complete'], ROUND_BOUND_MS)
      all.push(...ids)
    }
    // The collisions happened: the polls read (leased) results that had come with a notification.
    const { rows } = await o.db.pool.query<{ read: number; left: number }>(
      `SELECT (SELECT count(*)::int FROM pgmq.a_orchestration_step_results WHERE read_ct > 0) AS read,
              (SELECT count(*)::int FROM pgmq.q_orchestration_step_results) AS left`,
    )
    expect(rows[0]!.read).toBeGreaterThan(0)
    expect(rows[0]!.left).toBe(0)
    expect(all).toHaveLength(ROUNDS * TASKS_PER_ROUND)
    expect(errorLines(o.orchestrator.logDir)).toEqual([])
  }, 120_000)
})
