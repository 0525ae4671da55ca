/**
 * The Tasker SQL functions and pgmq operations at growing dataset sizes (BENCH_SQL_SCALES, default
 * 1K, 10K, 100K tasks; smoke 200). Targets at 100K tasks: get_next_ready_tasks p95 ≤ 3 ms,
 * get_step_readiness_status and get_task_execution_context p95 ≤ 0.5 ms (tasker-core published
 * 1.75–2.93, 0.44–0.60 and 0.38–0.46 ms at ~5K tasks).
 *
 * The functions measured are the measured database's own (tasker-core's, on a deployment): the
 * dataset lives in a scratch database on the same server holding a copy of that database's schema,
 * functions and extensions (dropped at the end; the running orchestrator never sees it), and grows
 * from one scale to the next. The dataset (harness/bench/dataset) is deterministic: seed 42,
 * production-like mix of shapes and states, anchored at the run's start (work in flight created
 * minutes before it, complete tasks older). An external database without BENCH_SEED=true is only
 * read: its existing tasks are sampled, no scales, no pgmq benches (the get_next_ready_tasks calls
 * still lock the tasks they return, for the duration of each call, and roll back).
 *
 * One persistent connection calls the functions through named prepared statements, with
 * arguments cycling through a seeded sample of ~200 tasks stratified by template and state.
 * get_next_ready_tasks claims what it returns (FOR UPDATE SKIP LOCKED): each call runs in a
 * transaction that is rolled back, so every sample sees the same data; the sample times the call
 * only, not BEGIN/ROLLBACK. Per scale the query plans go to <resultsDir>/plans/<scale>/; sequential
 * scans of big tables, and scans reading a good share of one, are printed as warnings and recorded
 * with the results. Findings (harness/bench/sql/scale-findings.ts): the dominant plan node per
 * function and scale, get_next_ready_tasks' candidate set, and each call's scaling order.
 */
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { scaleLabel } from '../harness/bench/dataset/scales.ts'
import { profileValue } from '../harness/config/profile.ts'
import { benchOptions } from '../harness/bench/bench-options.ts'
import { waitForIdleBeforeFirstSample } from '../harness/bench/tasker/idle.ts'
import { annotateResult } from '../harness/bench/record.ts'
import { cycle, cycledCall, inRolledBack, preparedCall, timedInRolledBack } from '../harness/bench/sql/calls.ts'
import { reportScalingOrder } from '../harness/bench/sql/scale-findings.ts'
import { SqlBench } from '../harness/bench/sql/sql-bench.ts'
import { BATCH_TASKS, SqlScale } from '../harness/bench/sql/scale.ts'
import { PGMQ_CALLS, stepMessage } from '../harness/bench/sql/statements.ts'

const NEXT_READY_LIMITS = [1, 10, 50, 100] as const
/** Growing to 1M tasks on a slow machine takes long; bounded all the same. */
const GROW_TIMEOUT_MS = 45 * 60_000

const run = inject('run')
// The server under test is shared with the orchestrator: measure it once the orchestrator is idle.
waitForIdleBeforeFirstSample(run, 'sql-functions')
const writable = run.writable
const scales = writable ? [...new Set(profileValue(run.settings, 'BENCH_SQL_SCALES'))].sort((a, b) => a - b) : []
const fast = benchOptions(run, 1_000, 50)
const claims = benchOptions(run, 500, 25)
const sql = new SqlBench(run, 'tasker_bench_sql_queue')

beforeAll(() => sql.open(), 120_000)
afterAll(() => sql.close(), 120_000)

function describeScale(label: string, grow: (() => Promise<string | undefined>) | undefined): void {
  describe(`@${label}`, () => {
    const scale = new SqlScale(sql, label)
    beforeAll(() => scale.prepare(grow), GROW_TIMEOUT_MS)

    describe('get_next_ready_tasks', () => {
      test.for(NEXT_READY_LIMITS)('get_next_ready_tasks(%i)', async (limit, { bench, task, skip }) => {
        if (scale.skip) return skip(scale.skip)
        const query = { name: 'sql_bench_next_ready', text: sql.calls.nextReady, values: [limit] }
        // The dataset has claimable tasks (pending, waiting for retry); an external one may not.
        const probe = await inRolledBack(sql.client, () => sql.client.query(query))
        if (sql.dataset.mode !== 'read-only') expect(probe.rowCount).toBeGreaterThan(0)
        const r = await bench(`get_next_ready_tasks(${limit}) @${label}`, () => timedInRolledBack(sql.client, query)).run(claims)
        scale.annotate(task, r, 'get_next_ready_tasks')
        annotateResult(task, { limit, returnedRows: probe.rowCount })
      })
    })

    test('get_step_readiness_status', async ({ bench, task, skip }) => {
      if (scale.skip) return skip(scale.skip)
      const probe = await sql.client.query(sql.calls.readiness, [scale.taskUuids()[0]])
      expect(probe.rows[0]).toHaveProperty('ready_for_execution')
      const r = await bench(`get_step_readiness_status @${label}`, cycledCall(sql.client, 'sql_bench_readiness', sql.calls.readiness, scale.taskUuids())).run(fast)
      scale.annotate(task, r, 'get_step_readiness_status')
    })

    test(`get_step_readiness_status_batch(${BATCH_TASKS} tasks)`, async ({ bench, task, skip }) => {
      if (scale.skip) return skip(scale.skip)
      const probe = await sql.client.query(sql.calls.readinessBatch, [scale.batches()[0]])
      expect(new Set(probe.rows.map((r: { task_uuid: string }) => r.task_uuid)).size).toBe(Math.min(BATCH_TASKS, scale.sample.tasks.length))
      const r = await bench(`get_step_readiness_status_batch(${BATCH_TASKS} tasks) @${label}`, cycledCall(sql.client, 'sql_bench_readiness_batch', sql.calls.readinessBatch, scale.batches())).run(fast)
      scale.annotate(task, r, 'get_step_readiness_status_batch')
    })

    test('get_task_execution_context', async ({ bench, task, skip }) => {
      if (scale.skip) return skip(scale.skip)
      const probe = await sql.client.query(sql.calls.context, [scale.taskUuids()[0]])
      expect(probe.rows[0]?.execution_status).toMatch(/^(has_ready_steps|processing|blocked_by_failures|all_complete|waiting_for_dependencies)$/)
      const r = await bench(`get_task_execution_context @${label}`, cycledCall(sql.client, 'sql_bench_context', sql.calls.context, scale.taskUuids())).run(fast)
      scale.annotate(task, r, 'get_task_execution_context')
    })

    test('get_step_transitive_dependencies(leaf step)', async ({ bench, task, skip }) => {
      if (scale.skip) return skip(scale.skip)
      const leaves = scale.leafSteps()
      if (leaves.length === 0) return skip('no sampled task has steps')
      const probe = await sql.client.query(sql.calls.ancestors, [leaves[0]])
      expect(probe.rows.every((r: { distance: number }) => r.distance >= 1)).toBe(true)
      const r = await bench(`get_step_transitive_dependencies(leaf step) @${label}`, cycledCall(sql.client, 'sql_bench_ancestors', sql.calls.ancestors, leaves)).run(fast)
      scale.annotate(task, r, 'get_step_transitive_dependencies')
    })

    // pgmq on a queue of its own in the dataset database; not where nothing may be written.
    describe.skipIf(!writable)('pgmq', () => {
      const samplesNeeded = fast.iterations + fast.warmupIterations + 10

      test('pgmq send', async ({ bench, task, skip }) => {
        if (scale.skip) return skip(scale.skip)
        await sql.client.query(PGMQ_CALLS.purge, [sql.queue])
        const r = await bench(`pgmq send @${label}`, preparedCall(sql.client, 'sql_bench_send', PGMQ_CALLS.send, () => [sql.queue, stepMessage()])).run(fast)
        scale.annotate(task, r)
      })

      test('pgmq read+delete', async ({ bench, task, skip }) => {
        if (scale.skip) return skip(scale.skip)
        await sql.fillQueue(samplesNeeded)
        const r = await bench(`pgmq read+delete @${label}`, async () => {
          const { rows } = await sql.client.query<{ msg_id: string }>({ name: 'sql_bench_read', text: PGMQ_CALLS.read, values: [sql.queue, 30, 1] })
          if (!rows[0]) throw new Error(`pgmq.read found no visible message in ${sql.queue}: the queue was filled with ${samplesNeeded}`)
          await sql.client.query({ name: 'sql_bench_delete', text: PGMQ_CALLS.delete, values: [sql.queue, rows[0].msg_id] })
        }).run(fast)
        scale.annotate(task, r)
      })

      test('pgmq archive', async ({ bench, task, skip }) => {
        if (scale.skip) return skip(scale.skip)
        const next = cycle(await sql.fillQueue(samplesNeeded))
        const r = await bench(`pgmq archive @${label}`, async () => {
          const { rows } = await sql.client.query<{ archived: boolean }>({ name: 'sql_bench_archive', text: PGMQ_CALLS.archive, values: [sql.queue, next()] })
          if (!rows[0]?.archived) throw new Error(`pgmq.archive did not find a message in ${sql.queue}: the queue was filled with ${samplesNeeded}`)
        }).run(fast)
        scale.annotate(task, r)
      })
    })
  })
}

if (writable) {
  for (const scale of scales) describeScale(scaleLabel(scale), () => sql.growth!.growTo(scale))
  test('scaling order', ({ skip }) => {
    const violations = reportScalingOrder(run, sql.points, sql.findings, sql.log)
    if (violations === undefined) return skip('nothing was measured')
    if (violations.length > 0) throw new Error(violations.join('\n'))
  })
} else {
  // Read-only: the data that is there, whatever its size.
  describeScale('existing', undefined)
}
