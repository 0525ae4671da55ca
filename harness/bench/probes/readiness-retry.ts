/**
 * Probe: does step readiness honour a step's backoff and its retry limit? Seeds tasks created in
 * the last minutes (harness/bench/dataset, seed `probe-readiness`), so some failed steps still
 * wait out their backoff, and asks the deployment's get_step_readiness_status about every task
 * with a failed step, in one transaction with the generator's expectation (same now()):
 * - a step waiting for a retry whose backoff has not run out must not be ready;
 * - of the steps waiting for a retry with their backoff over and parents complete, a third get
 *   their attempts used up, a third a backoff of 300 s asked for just now (both set inside the
 *   probe's transaction): neither may be ready;
 * - the last third, unchanged, must be ready (else the others hold for a function that never
 *   says ready).
 * Everything the probe changes is rolled back; the seeded tasks stay in the scratch database.
 */
import type pg from 'pg'
import type { ProbeResult } from '../../results/findings.ts'
import { expectedReadiness } from '../dataset/expected-readiness.ts'
import { countSeededTasks, seedDataset } from '../dataset/seed-dataset.ts'

const SEED = 'probe-readiness'
const TASKS = 1_000
/** the youngest in-flight tasks are created about now (live layout: up to 3 minutes before the anchor) */
const ANCHOR_AHEAD_MS = 3 * 60_000

export async function probeReadinessRetry(client: pg.Client, readinessStatus: string): Promise<ProbeResult> {
  const name = 'readiness honours backoff and retry limit'
  const anchor = new Date(Date.now() + ANCHOR_AHEAD_MS)
  if ((await countSeededTasks(client, SEED)) === 0) await seedDataset(client, { seed: SEED, from: 0, count: TASKS, anchor, live: true })
  await client.query('BEGIN')
  try {
    const expected = (await expectedReadiness(client, { seed: SEED, from: 0, count: TASKS, anchor, live: true })).filter((s) => s.category === 'waiting_for_retry' || s.category === 'error')
    const now = (await client.query<{ now: Date }>('SELECT now()')).rows[0]!.now
    const running = expected.filter((s) => s.currentState === 'waiting_for_retry' && s.nextRetryAt && s.nextRetryAt > now)
    const due = expected.filter((s) => s.readyForExecution && s.currentState === 'waiting_for_retry')
    const exhausted = due.filter((_, i) => i % 3 === 0)
    const backedOff = due.filter((_, i) => i % 3 === 1)
    const left = due.filter((_, i) => i % 3 === 2)
    await client.query('UPDATE tasker.workflow_steps SET attempts = max_attempts WHERE workflow_step_uuid = ANY($1::uuid[])', [exhausted.map((s) => s.workflowStepUuid)])
    // now() in the session's zone: UTC (bench sessions), as tasker-core's naive timestamps hold it
    await client.query('UPDATE tasker.workflow_steps SET last_attempted_at = now(), backoff_request_seconds = 300 WHERE workflow_step_uuid = ANY($1::uuid[])', [backedOff.map((s) => s.workflowStepUuid)])
    const tasks = [...new Set(expected.map((s) => s.taskUuid))]
    const actual = new Map<string, boolean>()
    for (const task of tasks) {
      const { rows } = await client.query<{ id: string; ready: boolean }>(`SELECT workflow_step_uuid::text AS id, ready_for_execution AS ready FROM ${readinessStatus}($1::uuid)`, [task])
      for (const r of rows) actual.set(r.id, r.ready)
    }
    const wrong = (steps: typeof expected, ready: boolean) => steps.filter((s) => actual.get(s.workflowStepUuid) !== ready).length
    const checks = [
      { what: 'waiting for a retry, backoff still running', steps: [...running, ...backedOff], ready: false },
      { what: 'waiting for a retry, backoff over, attempts used up', steps: exhausted, ready: false },
      { what: 'waiting for a retry, backoff over, attempts left', steps: left, ready: true },
    ]
    const evidence = checks.map((c) => `${c.steps.length} steps ${c.what}: ${wrong(c.steps, c.ready)} reported ${c.ready ? 'not ready' : 'ready'} (expected 0)`)
    if (checks.some((c) => c.steps.length === 0)) return { name, status: 'not run', evidence: [...evidence, 'a kind of step is missing from the seeded tasks: nothing to judge'] }
    return { name, status: checks.some((c) => wrong(c.steps, c.ready) > 0) ? 'fail' : 'pass', evidence }
  } finally {
    await client.query('ROLLBACK').catch(() => {})
  }
}
