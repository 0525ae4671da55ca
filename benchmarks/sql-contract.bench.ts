/**
 * What the measured database's own Tasker functions promise, checked rather than timed, and what
 * finished work costs them. In a scratch database with a copy of the target's schema and
 * functions (as the SQL bench; needs writes: the run's own server, or BENCH_SEED=true):
 *
 * 1. History series: a fixed set of live tasks (1,000; smoke 100; the dataset's unfinished mix,
 *    anchored at the run's start) with 0, 10× and 20× as many complete tasks beside it, and
 *    get_next_ready_tasks(10) timed at each. Finished work should cost nothing: the series' scaling
 *    order (harness/results/scaling.ts) is recorded, budgetable as
 *    `scaling: get_next_ready_tasks(10) history: [scaling: exponent<0.2]`.
 * 2. Contract probes (harness/bench/probes), each a pass / fail with its evidence, never a
 *    timing: claim exclusivity, notification payload sizes, readiness honouring backoff and retry
 *    limit. A probe fails the run only when budgeted (`probes: <name>: [probe: pass]`).
 * Findings go to <resultsDir>/findings/sql-contract.json; npm run conformance prints them.
 */
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import type pg from 'pg'
import { connectPg } from '../harness/db/connect.ts'
import { openBenchDatabase, type BenchDatabase } from '../harness/bench/database/bench-database.ts'
import { qualifiedName } from '../harness/db/tasker-functions.ts'
import { countSeededTasks, seedDataset } from '../harness/bench/dataset/seed-dataset.ts'
import { benchOptions } from '../harness/bench/bench-options.ts'
import { waitForIdleBeforeFirstSample } from '../harness/bench/tasker/idle.ts'
import { annotateResult } from '../harness/bench/record.ts'
import { inRolledBack, timedInRolledBack } from '../harness/bench/sql/calls.ts'
import { checkFindingBudgets, FindingsLog } from '../harness/bench/sql/findings.ts'
import { reportScalingOrder, ScalingPoints } from '../harness/bench/sql/scale-findings.ts'
import { probeClaimExclusivity } from '../harness/bench/probes/claim-exclusivity.ts'
import { probeNotifySizes } from '../harness/bench/probes/notify-sizes.ts'
import { probeReadinessRetry } from '../harness/bench/probes/readiness-retry.ts'
import type { ProbeResult } from '../harness/results/findings.ts'
import { sizeLabel } from '../harness/results/scaling.ts'

const run = inject('run')
waitForIdleBeforeFirstSample(run, 'sql-contract')
const LIVE_TASKS = run.environment.profile === 'smoke' ? 100 : 1_000
const HISTORY_MULTIPLES = [0, 10, 20] as const
const claims = benchOptions(run, 500, 25)
const log = (line: string) => console.log(`[sql-contract] ${line}`)
const findings = new FindingsLog(run, 'sql-contract')
const history = new ScalingPoints()

let db: BenchDatabase | undefined
let skipReason: string | undefined
let client: pg.Client
let nextReady = ''

beforeAll(async () => {
  const opened = await openBenchDatabase(run, { purpose: 'contract', readOnly: false, log })
  if ('skip' in opened) return void (skipReason = opened.skip)
  db = opened
  client = await connectPg(db.url, 'sql-contract')
  nextReady = qualifiedName(db.functions, 'get_next_ready_tasks', db.name)
  await seedDataset(client, { seed: 'live', from: 0, count: LIVE_TASKS, anchor: new Date(run.environment.timestamp), live: true, part: 'live' })
}, 300_000)

afterAll(async () => {
  await client?.end().catch(() => {})
  await db?.close()
}, 120_000)

describe('history series', () => {
  test.for(HISTORY_MULTIPLES)('get_next_ready_tasks(10) beside %i× history', async (multiple, { bench, task, skip }) => {
    if (skipReason) return skip(skipReason)
    const historyTasks = multiple * LIVE_TASKS
    const seeded = await countSeededTasks(client, 'history')
    await seedDataset(client, { seed: 'history', from: seeded, count: historyTasks - seeded, anchor: new Date(run.environment.timestamp), live: true, part: 'history' })
    const query = { name: 'contract_next_ready', text: `SELECT * FROM ${nextReady}($1::integer)`, values: [10] }
    expect((await inRolledBack(client, () => client.query(query))).rowCount).toBeGreaterThan(0)
    const r = await bench(`get_next_ready_tasks(10) @${sizeLabel(LIVE_TASKS)} live + ${sizeLabel(historyTasks)} history`, () => timedInRolledBack(client, query)).run(claims)
    history.add('get_next_ready_tasks(10) history', LIVE_TASKS + historyTasks, r.latency?.p50)
    annotateResult(task, { datasetTasks: LIVE_TASKS + historyTasks, liveTasks: LIVE_TASKS, historyTasks, function: nextReady })
  })

  test('history costs nothing (scaling order over the series)', ({ skip }) => {
    if (skipReason) return skip(skipReason)
    const violations = reportScalingOrder(run, history, findings, log) ?? []
    if (violations.length > 0) throw new Error(violations.join('\n'))
  })
})

describe('contract probes', () => {
  const probes: [string, () => Promise<ProbeResult>][] = [
    ['claim exclusivity', () => probeClaimExclusivity(db!.url, nextReady, 5)],
    ['notify payload sizes', () => probeNotifySizes(db!.url, qualifiedName(db!.functions, 'pgmq_send_with_notify', db!.name))],
    ['readiness honours backoff and retry limit', () => probeReadinessRetry(client, qualifiedName(db!.functions, 'get_step_readiness_status', db!.name))],
  ]
  test.for(probes)('%s', async ([, probe], { skip }) => {
    if (skipReason) return skip(skipReason)
    const result = await probe()
    log(`probe ${result.name}: ${result.status.toUpperCase()}${result.evidence.map((e) => `\n  ${e}`).join('')}`)
    const checked = checkFindingBudgets(run, 'probes', result.name, { probe: result.status === 'pass' ? 1 : 0 })
    findings.add({ kind: 'probe', ...result, budgets: checked.checks })
    if (checked.violations.length > 0) throw new Error(`${checked.violations.join('\n')}\n${result.evidence.join('\n')}`)
  })
})
