/**
 * A worker's submit and another worker's takeover of the same step (the first worker's lease ran
 * out: a stalled worker) take the message and the step in one order — message, then step — so
 * they never wait for each other. Before, the submit locked the step first and archived its
 * message last, while the takeover claim locked the message first and then the step: deadlock.
 * Replayed statement by statement: a third session holds the step so both queue behind it, the
 * submit first. And a live worker keeps its lease until its result is in, so a submit that waits
 * behind others does not invite a takeover at all.
 */
import { expect, test } from 'vitest'
import type pg from 'pg'
import { claimSteps, createLogger, DISABLED_TELEMETRY, StepRunner, submitStepResult, submitStepResults, TemplateRegistry, type Submission } from '../orchestrator/index.ts'
import { backendPid, blockedOnLock, insertTask, stepState } from './support/handmade-task.ts'
import { migrateTasker, usePostgres } from './support/postgres.ts'

const QUEUE = 'worker_takeover_queue'
const db = usePostgres(async (pool) => {
  await migrateTasker(pool)
  for (const queue of [QUEUE, 'orchestration_step_results']) await pool.query(`SELECT pgmq.create($1)`, [queue])
})

const SUBMITS: Record<string, (q: pg.PoolClient, s: Submission) => Promise<boolean>> = {
  'one submission (an idle worker)': submitStepResult,
  'a batch (a busy worker)': async (q, s) => (await submitStepResults(q, [s]))[0]!,
}

test.each(Object.keys(SUBMITS))('%s and a takeover claim of the same expired lease: the submit wins, nothing deadlocks', async (kind) => {
  const { taskUuid, steps } = await insertTask(db.pool, 'takeover', 1, 'enqueued')
  const stepUuid = steps[0]!
  await db.pool.query(`SELECT pgmq.send($1, $2::jsonb)`, [QUEUE, JSON.stringify({ task_uuid: taskUuid, step_uuid: stepUuid })])
  // Worker 1 claims it with a lease that has already run out (0 s).
  const [first] = await claimSteps(db.pool, QUEUE, 0, 1, 'worker-1')
  expect(first?.claimed).toBe(true)

  const holder = await db.pool.connect()
  const submitter = await db.pool.connect()
  const claimer = await db.pool.connect()
  try {
    const [submitterPid, claimerPid] = [await backendPid(submitter), await backendPid(claimer)]
    await holder.query('BEGIN')
    await holder.query(`SELECT 1 FROM tasker.workflow_steps WHERE workflow_step_uuid = $1 FOR NO KEY UPDATE`, [stepUuid])
    // Worker 1 submits; it waits for the step.
    const submission = SUBMITS[kind]!(submitter, {
      stepUuid,
      outcome: 'success',
      results: { value: 1 },
      metadata: { worker_id: 'worker-1' },
      resultMessage: { task_uuid: taskUuid, step_uuid: stepUuid, correlation_id: taskUuid },
      ownMessage: { queue: QUEUE, msgId: first!.msg_id },
    })
    let submitted = false
    void submission.finally(() => (submitted = true)).catch(() => {})
    await blockedOnLock(db.pool, submitterPid, () => submitted)
    expect(submitted, 'the submit waits for the held step').toBe(false)
    // Worker 2 reads the message again (read_ct 2) to take the step over.
    let claimed = false
    const takeover = claimSteps(claimer, QUEUE, 30, 1, 'worker-2').finally(() => (claimed = true))
    await Promise.race([takeover, blockedOnLock(db.pool, claimerPid, () => claimed)])
    await holder.query('COMMIT')

    const [submitResult, takeoverResult] = await Promise.allSettled([submission, takeover])
    expect(submitResult.status === 'fulfilled' ? submitResult.value : String(submitResult.reason)).toBe(true)
    expect(takeoverResult.status === 'fulfilled' ? takeoverResult.value.filter((m) => m.claimed) : String(takeoverResult.reason)).toEqual([])
    expect(await stepState(db.pool, stepUuid)).toBe('enqueued_for_orchestration')
  } finally {
    await holder.query('ROLLBACK').catch(() => {})
    for (const c of [holder, submitter, claimer]) c.release()
  }
}, 60_000)

test('a worker extends its lease until its result is submitted, not only while the handler runs', async () => {
  const { taskUuid, steps } = await insertTask(db.pool, 'lease', 1, 'enqueued')
  await db.pool.query(`SELECT pgmq.send($1, $2::jsonb)`, [QUEUE, JSON.stringify({ task_uuid: taskUuid, step_uuid: steps[0] })])
  const vtSeconds = 1
  const [claimed] = await claimSteps(db.pool, QUEUE, vtSeconds, 1, 'worker-1')
  expect(claimed?.claimed).toBe(true)
  const leaseEnd = async () =>
    (await db.pool.query<{ vt: Date }>(`SELECT vt FROM pgmq.q_worker_takeover_queue WHERE msg_id = $1`, [claimed!.msg_id])).rows[0]!.vt.getTime()
  const seen: number[] = []
  // A submit that waits four heartbeat intervals (others' batches ahead of it, a slow server).
  const slowSubmitter = {
    async submit(): Promise<boolean> {
      seen.push(await leaseEnd())
      await new Promise((r) => setTimeout(r, 2 * vtSeconds * 1000))
      seen.push(await leaseEnd())
      return true
    },
  }
  const runner = new StepRunner({
    pool: db.pool,
    templates: new TemplateRegistry([]),
    telemetry: DISABLED_TELEMETRY,
    log: createLogger('step-takeover-test', 'error'),
    submitter: slowSubmitter as unknown as ConstructorParameters<typeof StepRunner>[0]['submitter'],
    workerId: 'worker-1',
    visibilityTimeoutS: vtSeconds,
  })
  await runner.run(claimed!, QUEUE, 0, 0)
  expect(seen).toHaveLength(2)
  expect(seen[1]!).toBeGreaterThan(seen[0]!)
}, 30_000)
