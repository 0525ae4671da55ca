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
 * with the results. Findings (harness/bench/sql/scale-findings.ts, in <resultsDir>/findings/): the
 * dominant plan node per function and scale, the candidate set of get_next_ready_tasks up to
 * 10K tasks, and at the end each call's scaling order (budgets: `scaling:` in the budget file).
 */
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import type pg from 'pg'
import { connectPg, openPool } from '../harness/db/connect.ts'
import { countSeededTasks } from '../harness/bench/dataset/seed-dataset.ts'
import { captureScalePlans, datasetGrowth, scaleLabel, type DatasetGrowth } from '../harness/bench/dataset/scales.ts'
import { sampleDataset, type DatasetSample } from '../harness/bench/dataset/sample.ts'
import { countTaskerRows } from '../harness/db/scratch-database.ts'
import { openBenchDatabase, type BenchDatabase } from '../harness/bench/database/bench-database.ts'
import { qualifiedName, type TaskerFunctionName } from '../harness/db/tasker-functions.ts'
import type { CapturedPlan, PlanTarget } from '../harness/bench/database/explain.ts'
import { profileValue } from '../harness/config/profile.ts'
import { benchOptions } from '../harness/bench/bench-options.ts'
import { waitForIdleBeforeFirstSample } from '../harness/bench/tasker/idle.ts'
import { annotateResult } from '../harness/bench/record.ts'
import { pgLimits } from '../harness/db/limits.ts'
import { FindingsLog } from '../harness/bench/sql/findings.ts'
import { recordScaleFindings, reportScalingOrder, ScalingPoints } from '../harness/bench/sql/scale-findings.ts'
import { batchesOf, cycle, inRolledBack } from '../harness/bench/sql/calls.ts'

const SEED = '42'
const SAMPLE_TASKS = 200
const BATCH_TASKS = 10
const NEXT_READY_LIMITS = [1, 10, 50, 100] as const
const QUEUE = 'tasker_bench_sql_queue'
/** Growing to 1M tasks on a slow machine takes long; bounded all the same. */
const GROW_TIMEOUT_MS = 45 * 60_000

const run = inject('run')
// The server under test is shared with the orchestrator: measure it once the orchestrator is idle.
waitForIdleBeforeFirstSample(run, 'sql-functions')
const settings = run.settings
const writable = run.writable
const scales = writable
  ? [...new Set(profileValue(settings, 'BENCH_SQL_SCALES'))].sort((a, b) => a - b)
  : []
const fast = benchOptions(run, 1_000, 50)
const claims = benchOptions(run, 500, 25)

const log = (line: string) => console.log(`[sql-functions] ${line}`)
const findings = new FindingsLog(run, 'sql-functions')
const points = new ScalingPoints()
const planShapes = new Map<string, { scale: string; shape: string }>()

/** The calls, with the functions' schema as the measured database has it (set in beforeAll). */
const SQL = {
  nextReady: '',
  readiness: '',
  readinessBatch: '',
  context: '',
  ancestors: '',
  send: 'SELECT pgmq.send($1::text, $2::jsonb) AS msg_id',
  sendBatch: 'SELECT pgmq.send_batch($1::text, $2::jsonb[]) AS msg_id',
  read: 'SELECT msg_id FROM pgmq.read($1::text, $2::integer, $3::integer)',
  delete: 'SELECT pgmq.delete($1::text, $2::bigint) AS deleted',
  archive: 'SELECT pgmq.archive($1::text, $2::bigint) AS archived',
}

let dataset: BenchDatabase
/** the measuring connection: every sample runs on it */
let client: pg.Client
/** EXPLAIN capture (auto_explain stays loaded in its session) */
let explainClient: pg.Client
/** seeding connections (the generator writes chunks two at a time) */
let seedPool: pg.Pool | undefined
/** grows the dataset from one scale to the next (writable databases only) */
let growth: DatasetGrowth | undefined

beforeAll(async () => {
  const opened = await openBenchDatabase(run, { purpose: 'sql', readOnly: true, log })
  if ('skip' in opened) throw new Error(opened.skip)
  dataset = opened
  log(`dataset database: ${dataset.reason}`)
  const fn = (name: TaskerFunctionName) => qualifiedName(dataset.functions, name, dataset.name)
  SQL.nextReady = `SELECT * FROM ${fn('get_next_ready_tasks')}($1::integer)`
  SQL.readiness = `SELECT * FROM ${fn('get_step_readiness_status')}($1::uuid)`
  SQL.readinessBatch = `SELECT * FROM ${fn('get_step_readiness_status_batch')}($1::uuid[])`
  SQL.context = `SELECT * FROM ${fn('get_task_execution_context')}($1::uuid)`
  SQL.ancestors = `SELECT * FROM ${fn('get_step_transitive_dependencies')}($1::uuid)`
  client = await connectPg(dataset.url, 'sql-functions')
  explainClient = await connectPg(dataset.url, 'sql-functions explain')
  if (dataset.writable) {
    // Seeding 100K tasks legitimately runs long: its own, larger limit (BENCH_SETUP_STATEMENT_TIMEOUT_MS).
    seedPool = openPool(dataset.url, 'dataset seeder', pgLimits(settings, 'setup'), { max: 2 })
    // An idle connection that fails (server restarted) must not take the worker down.
    seedPool.on('error', (err) => log(`seeding connection lost: ${err.message}`))
    growth = datasetGrowth(seedPool, SEED, await countSeededTasks(client, SEED), log, { anchor: new Date(run.environment.timestamp), live: true })
    await client.query('SELECT pgmq.create($1::text)', [QUEUE])
  } else if (settings.BENCH_SQL_SCALES) {
    log(`BENCH_SQL_SCALES=${settings.BENCH_SQL_SCALES.join(',')} ignored: nothing is seeded into a read-only database`)
  }
}, 120_000)

afterAll(async () => {
  await client?.end().catch(() => {})
  await explainClient?.end().catch(() => {})
  await seedPool?.end().catch(() => {})
  await dataset?.close()
}, 120_000)

interface ScaleState {
  label: string
  /** why this scale's benches are skipped, if they are */
  skip?: string
  sample: DatasetSample
  size: { tasks: number; steps: number }
  plans: Map<string, CapturedPlan>
  /** annotation fields every result of this scale carries */
  annotations: Record<string, unknown>
}

/** Sample, size and plans of the data as it is now. */
async function prepareScale(state: ScaleState): Promise<void> {
  state.size = await countTaskerRows(client)
  state.sample = await sampleDataset(client, { seed: SEED, size: SAMPLE_TASKS })
  if (state.sample.tasks.length === 0) {
    state.skip = `no tasks in ${dataset.name}`
    return
  }
  const probe = state.sample.tasks.find((t) => t.state !== 'complete') ?? state.sample.tasks[0]!
  const leaf = state.sample.tasks.find((t) => t.leafStepUuid)?.leafStepUuid
  const targets: PlanTarget[] = [
    { name: 'get_next_ready_tasks(10)', file: 'get_next_ready_tasks', sql: SQL.nextReady, values: [10] },
    { name: 'get_step_readiness_status', file: 'get_step_readiness_status', sql: SQL.readiness, values: [probe.taskUuid] },
    { name: `get_step_readiness_status_batch(${BATCH_TASKS} tasks)`, file: 'get_step_readiness_status_batch', sql: SQL.readinessBatch, values: [batchesOf(state.sample, BATCH_TASKS)[0]] },
    { name: 'get_task_execution_context', file: 'get_task_execution_context', sql: SQL.context, values: [probe.taskUuid] },
    ...(leaf ? [{ name: 'get_step_transitive_dependencies(leaf step)', file: 'get_step_transitive_dependencies', sql: SQL.ancestors, values: [leaf] }] : []),
  ]
  state.plans = await captureScalePlans(explainClient, targets, { resultsDir: run.resultsDir, label: state.label }, log)
  const nextReady = qualifiedName(dataset.functions, 'get_next_ready_tasks', dataset.name)
  await recordScaleFindings(findings, { client, nextReady, writable: dataset.writable, plans: state.plans, label: state.label, tasks: state.size.tasks, planShapes })
  state.annotations = {
    scale: state.label,
    datasetDatabase: dataset.mode,
    datasetSeed: dataset.mode === 'read-only' ? undefined : SEED,
    datasetTasks: state.size.tasks,
    datasetSteps: state.size.steps,
    sampledTasks: state.sample.tasks.length,
  }
  log(
    `@${state.label}: ${state.size.tasks.toLocaleString('en-US')} tasks, ${state.size.steps.toLocaleString('en-US')} steps; ` +
      `sample of ${state.sample.tasks.length} tasks over ${state.sample.strata.length} template/state strata`,
  )
}

/**
 * The results of a test get the scale's fields, the plan warnings of its function and the
 * function's fingerprint (schema and hash of its definition: same hash, same code); its p50 joins
 * the call's scaling points.
 */
function annotate(task: Parameters<typeof annotateResult>[0], state: ScaleState, result: { name: string; latency?: { p50: number } }, fn?: TaskerFunctionName): void {
  points.add(result.name.replace(/ @[^ ]+$/, ''), state.size.tasks, result.latency?.p50)
  const plan = fn ? state.plans.get(fn) : undefined
  const measured = fn ? dataset.functions[fn] : undefined
  annotateResult(task, {
    ...state.annotations,
    ...(plan ? { plan: path.relative(run.resultsDir, plan.file), planWarnings: plan.warnings } : {}),
    ...(measured ? { function: `${measured.schema}.${fn}`, functionHash: measured.hash } : {}),
  })
}

function describeScale(label: string, grow: (() => Promise<string | undefined>) | undefined): void {
  describe(`@${label}`, () => {
    const state = { label, plans: new Map() } as ScaleState

    beforeAll(async () => {
      state.skip = await grow?.()
      if (!state.skip) await prepareScale(state)
      if (state.skip) log(`@${label} skipped: ${state.skip}`)
    }, GROW_TIMEOUT_MS)

    describe('get_next_ready_tasks', () => {
      test.for(NEXT_READY_LIMITS)('get_next_ready_tasks(%i)', async (limit, { bench, task, skip }) => {
        if (state.skip) return skip(state.skip)
        const query = { name: 'sql_bench_next_ready', text: SQL.nextReady, values: [limit] }
        // The dataset has claimable tasks (pending, waiting for retry); an external one may not.
        const probe = await inRolledBack(client, () => client.query(query))
        if (dataset.mode !== 'read-only') expect(probe.rowCount).toBeGreaterThan(0)
        const r = await bench(`get_next_ready_tasks(${limit}) @${label}`, async () => {
          await client.query('BEGIN')
          try {
            const t0 = performance.now()
            await client.query(query)
            return { overriddenDuration: performance.now() - t0 }
          } finally {
            await client.query('ROLLBACK')
          }
        }).run(claims)
        annotate(task, state, r, 'get_next_ready_tasks')
        annotateResult(task, { limit, returnedRows: probe.rowCount })
      })
    })

    test('get_step_readiness_status', async ({ bench, task, skip }) => {
      if (state.skip) return skip(state.skip)
      const next = cycle(state.sample.tasks.map((t) => t.taskUuid))
      const probe = await client.query(SQL.readiness, [state.sample.tasks[0]!.taskUuid])
      expect(probe.rows[0]).toHaveProperty('ready_for_execution')
      const r = await bench(`get_step_readiness_status @${label}`, async () => {
        await client.query({ name: 'sql_bench_readiness', text: SQL.readiness, values: [next()] })
      }).run(fast)
      annotate(task, state, r, 'get_step_readiness_status')
    })

    test(`get_step_readiness_status_batch(${BATCH_TASKS} tasks)`, async ({ bench, task, skip }) => {
      if (state.skip) return skip(state.skip)
      const next = cycle(batchesOf(state.sample, BATCH_TASKS))
      const probe = await client.query(SQL.readinessBatch, [batchesOf(state.sample, BATCH_TASKS)[0]])
      expect(new Set(probe.rows.map((r: { task_uuid: string }) => r.task_uuid)).size).toBe(Math.min(BATCH_TASKS, state.sample.tasks.length))
      const r = await bench(`get_step_readiness_status_batch(${BATCH_TASKS} tasks) @${label}`, async () => {
        await client.query({ name: 'sql_bench_readiness_batch', text: SQL.readinessBatch, values: [next()] })
      }).run(fast)
      annotate(task, state, r, 'get_step_readiness_status_batch')
    })

    test('get_task_execution_context', async ({ bench, task, skip }) => {
      if (state.skip) return skip(state.skip)
      const next = cycle(state.sample.tasks.map((t) => t.taskUuid))
      const probe = await client.query(SQL.context, [state.sample.tasks[0]!.taskUuid])
      expect(probe.rows[0]?.execution_status).toMatch(/^(has_ready_steps|processing|blocked_by_failures|all_complete|waiting_for_dependencies)$/)
      const r = await bench(`get_task_execution_context @${label}`, async () => {
        await client.query({ name: 'sql_bench_context', text: SQL.context, values: [next()] })
      }).run(fast)
      annotate(task, state, r, 'get_task_execution_context')
    })

    test('get_step_transitive_dependencies(leaf step)', async ({ bench, task, skip }) => {
      if (state.skip) return skip(state.skip)
      const leaves = state.sample.tasks.flatMap((t) => (t.leafStepUuid ? [t.leafStepUuid] : []))
      if (leaves.length === 0) return skip('no sampled task has steps')
      const next = cycle(leaves)
      const probe = await client.query(SQL.ancestors, [leaves[0]])
      expect(probe.rows.every((r: { distance: number }) => r.distance >= 1)).toBe(true)
      const r = await bench(`get_step_transitive_dependencies(leaf step) @${label}`, async () => {
        await client.query({ name: 'sql_bench_ancestors', text: SQL.ancestors, values: [next()] })
      }).run(fast)
      annotate(task, state, r, 'get_step_transitive_dependencies')
    })

    // pgmq on a queue of its own in the dataset database; not where nothing may be written.
    describe.skipIf(!writable)('pgmq', () => {
      const message = () => ({ task_uuid: crypto.randomUUID(), step_uuid: crypto.randomUUID(), correlation_id: crypto.randomUUID() })
      const samplesNeeded = fast.iterations + fast.warmupIterations + 10

      /** Fills the (purged) queue with n messages; returns their ids, oldest first. */
      async function fill(n: number): Promise<string[]> {
        await client.query('SELECT pgmq.purge_queue($1::text)', [QUEUE])
        const ids: string[] = []
        for (let done = 0; done < n; done += 500) {
          const batch = Array.from({ length: Math.min(500, n - done) }, () => JSON.stringify(message()))
          const { rows } = await client.query<{ msg_id: string }>(SQL.sendBatch, [QUEUE, batch])
          ids.push(...rows.map((r) => r.msg_id))
        }
        return ids
      }

      test('pgmq send', async ({ bench, task, skip }) => {
        if (state.skip) return skip(state.skip)
        await client.query('SELECT pgmq.purge_queue($1::text)', [QUEUE])
        const r = await bench(`pgmq send @${label}`, async () => {
          await client.query({ name: 'sql_bench_send', text: SQL.send, values: [QUEUE, message()] })
        }).run(fast)
        annotate(task, state, r)
      })

      test('pgmq read+delete', async ({ bench, task, skip }) => {
        if (state.skip) return skip(state.skip)
        await fill(samplesNeeded)
        const r = await bench(`pgmq read+delete @${label}`, async () => {
          const { rows } = await client.query<{ msg_id: string }>({ name: 'sql_bench_read', text: SQL.read, values: [QUEUE, 30, 1] })
          if (!rows[0]) throw new Error(`pgmq.read found no visible message in ${QUEUE}: the queue was filled with ${samplesNeeded}`)
          await client.query({ name: 'sql_bench_delete', text: SQL.delete, values: [QUEUE, rows[0].msg_id] })
        }).run(fast)
        annotate(task, state, r)
      })

      test('pgmq archive', async ({ bench, task, skip }) => {
        if (state.skip) return skip(state.skip)
        const next = cycle(await fill(samplesNeeded))
        const r = await bench(`pgmq archive @${label}`, async () => {
          const { rows } = await client.query<{ archived: boolean }>({ name: 'sql_bench_archive', text: SQL.archive, values: [QUEUE, next()] })
          if (!rows[0]?.archived) throw new Error(`pgmq.archive did not find a message in ${QUEUE}: the queue was filled with ${samplesNeeded}`)
        }).run(fast)
        annotate(task, state, r)
      })
    })
  })
}

if (writable) {
  for (const scale of scales) describeScale(scaleLabel(scale), () => growth!.growTo(scale))
  test('scaling order', ({ skip }) => {
    const violations = reportScalingOrder(run, points, findings, log)
    if (violations === undefined) return skip('nothing was measured')
    if (violations.length > 0) throw new Error(violations.join('\n'))
  })
} else {
  // Read-only: the data that is there, whatever its size.
  describeScale('existing', undefined)
}
