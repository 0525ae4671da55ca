/**
 * PostgreSQL restarted under a running orchestrator: every task still completes (or is reported
 * failed with a reason), no step completes twice, nothing is silently lost.
 */
import { describe, expect, test } from 'vitest'
import { createTask, taskBody, useOrchestrator, waitForTasks } from './support/orchestrator.ts'

describe('PostgreSQL restart mid-run', () => {
  const o = useOrchestrator({ workers: 2 })

  test('tasks in flight and tasks created after the restart all complete, each step once', async () => {
    const ids: string[] = []
    for (let i = 0; i < 10; i++) ids.push(await createTask(o.url, taskBody(i % 2 ? 'diamond' : 'linear', { bench_sleep_ms: 200 })))

    await o.db.server.restart!() // fast shutdown: every connection of every process is cut

    // The API may need a moment to reconnect; creating tasks must work again, bounded in time.
    const deadline = Date.now() + 60_000
    while (ids.length < 15) {
      try {
        ids.push(await createTask(o.url, taskBody('mixed', { bench_sleep_ms: 20 })))
      } catch (err) {
        if (Date.now() > deadline) throw err
        await new Promise((r) => setTimeout(r, 250))
      }
    }

    await waitForTasks(o.db, ids, ['complete'], 120_000)
    const { rows } = await o.db.pool.query<{ step: string; completes: number }>(
      `SELECT ws.workflow_step_uuid AS step, count(*) FILTER (WHERE tr.to_state = 'complete')::int AS completes
       FROM tasker.workflow_steps ws JOIN tasker.workflow_step_transitions tr USING (workflow_step_uuid)
       WHERE ws.task_uuid = ANY ($1::uuid[]) GROUP BY ws.workflow_step_uuid`,
      [ids],
    )
    expect(rows.filter((r) => r.completes !== 1)).toEqual([])
    expect(rows.length).toBe(5 * 3 + 5 * 4 + 5 * 7)
  }, 240_000)
})
