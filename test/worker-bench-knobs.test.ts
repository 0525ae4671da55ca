/**
 * The reference worker's bench knobs cannot pin it (issue 21 §3): a step given the largest CPU
 * work the API allows (seconds to tens of seconds of one core) stops at its 5 s timeout, its lease
 * is kept by the heartbeat meanwhile (no other worker takes it over), and unrelated tasks of the
 * same queue, created while it burns, complete promptly. Real processes, real PostgreSQL; the
 * templates are test/fixtures/step-timeout-templates/.
 */
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { BENCH_KNOB_LIMITS } from '../orchestrator/index.ts'
import { createTask, errorLines, postJson, useOrchestrator, waitForRow, waitForTasks } from './support/orchestrator.ts'

const TEMPLATES_DIR = path.join(import.meta.dirname, 'fixtures/step-timeout-templates')
const STEP_TIMEOUT_S = 5
/** The lease the heartbeat must extend: shorter than the step timeout, so it has to, twice over. */
const VISIBILITY_TIMEOUT_S = 2

const request = (name: 'cpu_bound' | 'quick', context: Record<string, unknown>) => ({
  name,
  namespace: 'knob_limits',
  version: '1.0.0',
  context: { _test_run_id: `${process.pid}-${Date.now()}-${Math.random()}`, ...context },
  initiator: 'test',
  source_system: 'vitest',
  reason: 'bench knob limits',
})

describe('the largest allowed CPU work knob on a step with a short timeout', () => {
  const o = useOrchestrator({ workers: 2, env: { TASKER_TEMPLATES_DIR: TEMPLATES_DIR, TASKER_VISIBILITY_TIMEOUT_S: String(VISIBILITY_TIMEOUT_S) } })

  test('beyond the limit is a 400 naming the field and the limit', async () => {
    const max = BENCH_KNOB_LIMITS.bench_cpu_work.max
    const res = await postJson(`${o.url}/v1/tasks`, request('cpu_bound', { bench_cpu_work: { burn: max + 1 } }))
    expect(res.status).toBe(400)
    expect(res.body.error.message).toContain(`'context.bench_cpu_work.burn' must be a whole number from 0 to ${max}`)
  })

  test('times out at the step timeout, keeps its lease, and unrelated tasks of the queue complete meanwhile', async () => {
    const heavy = await createTask(o.url, request('cpu_bound', { bench_cpu_work: { burn: BENCH_KNOB_LIMITS.bench_cpu_work.max } }))
    const claimed = await waitForRow<{ at: Date }>(
      o.db,
      `SELECT tr.created_at AS at FROM tasker.workflow_step_transitions tr JOIN tasker.workflow_steps ws USING (workflow_step_uuid)
       WHERE ws.task_uuid = $1 AND tr.to_state = 'in_progress'`,
      [heavy],
    )

    // One unrelated task right away, one after the lease would have run out without a heartbeat
    // (when, before the fix, the second worker took the step over and blocked as well).
    const quickWithin = async (): Promise<number> => {
      const started = Date.now()
      const id = await createTask(o.url, request('quick', {}))
      await waitForTasks(o.db, [id], ['complete'], 20_000)
      return Date.now() - started
    }
    const first = await quickWithin()
    await new Promise((r) => setTimeout(r, (VISIBILITY_TIMEOUT_S + 1) * 1000))
    const second = await quickWithin()
    // The work itself would take 10 s or more (10^10 iterations); these take well under a second
    // when idle: 4 s leaves room for a loaded machine and still tells a stalled queue apart.
    expect(first).toBeLessThan(4000)
    expect(second).toBeLessThan(4000)

    await waitForTasks(o.db, [heavy], ['blocked_by_failures', 'error'], 60_000)
    const { rows } = await o.db.pool.query<{ to_state: string; at: Date; message: string | null }>(
      `SELECT tr.to_state, tr.created_at AS at, tr.metadata->'error'->>'message' AS message
       FROM tasker.workflow_step_transitions tr JOIN tasker.workflow_steps ws USING (workflow_step_uuid)
       WHERE ws.task_uuid = $1 ORDER BY tr.sort_key`,
      [heavy],
    )
    const failed = rows.find((r) => r.to_state === 'enqueued_as_error_for_orchestration')
    expect(failed?.message, JSON.stringify(rows)).toBe(`handler timed out after ${STEP_TIMEOUT_S} s`)
    // claimed once: the heartbeat held the lease through the CPU work, no worker took it over
    expect(rows.filter((r) => r.to_state === 'in_progress')).toHaveLength(1)
    expect(workerLogLines(o.orchestrator.logDir, /took over a step/)).toEqual([])
    // stopped at the timeout: not before it, and well before the work would have ended
    const ran = failed!.at.getTime() - claimed.at.getTime()
    expect(ran).toBeGreaterThanOrEqual(STEP_TIMEOUT_S * 1000 - 100)
    expect(ran).toBeLessThan((STEP_TIMEOUT_S + 4) * 1000)
    expect(errorLines(o.orchestrator.logDir)).toEqual([])
  }, 120_000)
})

function workerLogLines(logDir: string, pattern: RegExp): string[] {
  return readdirSync(logDir)
    .filter((f) => f.startsWith('worker') && f.endsWith('.log'))
    .flatMap((f) => readFileSync(path.join(logDir, f), 'utf8').split('\n').filter((l) => pattern.test(l)))
}
