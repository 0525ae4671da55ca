/**
 * Efficiency: is the orchestrator's end-to-end latency good? Per workflow (linear, diamond, tree,
 * mixed DAG) it is measured next to
 * - the floor: the thinnest correct pgmq + LISTEN/NOTIFY execution of the same DAG (one message
 *   per step claimed with SKIP LOCKED, children enqueued when all their parents are done, the
 *   completion NOTIFYed; harness/bench/baselines/floor),
 * - the peer: graphile-worker running the same DAG, one job per step (harness/bench/baselines/peer),
 * - the minimal chain: the least any correct execution does, the second reference line — one
 *   process, a plain table, insert + NOTIFY → UPDATE … SKIP LOCKED claim → insert the next
 *   (harness/bench/baselines/minimal); what the floor pays above it is pgmq and worker processes,
 * on the same PostgreSQL server (scratch databases; the suite's embedded server when the server
 * under test may not be written to — the results say which), with as many worker processes as
 * the orchestrator has (BENCH_WORKERS), and the E2E bench's sample count.
 *
 * Samples are interleaved — each iteration runs one E2E task and one task of each baseline, in a
 * rotating order — so that all four see the same phase of the machine. Each sample is timed as
 * in e2e-latency: t0 right before the task is created (POST /v1/tasks; a baseline's start
 * statement), the end when its completion is observed (the completion NOTIFY).
 *
 * Recorded per workflow: `e2e <shape> (interleaved)`, `floor <shape>`, `peer <shape>`,
 * `minimal <shape>`, and the efficiency figures `efficiency <shape> e2e/floor`, `… e2e/peer` and
 * `… e2e/minimal` (E2E p50 / baseline p50, p99 / p99, …), budgetable like any figure, and the work
 * per task of each (harness/bench/work/) with its ratios E2E ÷ baseline. The file ends with the
 * efficiency table.
 */
import { afterAll, describe, inject, test } from 'vitest'
import { annotateResult, recordSamples } from '../harness/bench/record.ts'
import { profileValue, sampleCount } from '../harness/config/profile.ts'
import { fixedCount } from '../harness/bench/bench-options.ts'
import { noOrchestrator, skipReason } from '../harness/bench/requirements.ts'
import { orchestratorSession } from '../harness/bench/tasker/orchestrator-session.ts'
import { taskRequest, type Shape } from '../harness/bench/tasker/workflows.ts'
import { loadDags, SHAPES, type Dag } from '../harness/bench/baselines/dag.ts'
import { startBaselines, type Baselines } from '../harness/bench/baselines/start-baselines.ts'
import { interleave } from '../harness/bench/baselines/interleave.ts'
import { recordEfficiency, recordWorkRatios } from '../harness/bench/baselines/record-efficiency.ts'
import { workPerTask } from '../harness/bench/work/bench-work.ts'
import { baselineWork } from '../harness/bench/baselines/baseline-work.ts'
import { baselineName, efficiencyRows, efficiencyTable, interleavedE2eName, type EfficiencyRow } from '../harness/results/efficiency.ts'
import { taskerMeta } from '../harness/results/meta.ts'

const run = inject('run')
const TASK_TIMEOUT_MS = 30_000
const skip = skipReason('baselines', noOrchestrator(run))
const samples = profileValue(run.settings, 'BENCH_E2E_SAMPLES')
const options = fixedCount(samples, sampleCount(run, 10))
const log = (line: string) => console.log(`[baselines] ${line}`)

let dags: Record<Shape, Dag>
let baselines: Baselines | undefined
const table: EfficiencyRow[] = []
const work = workPerTask(run, 'baselines', () => (baselines?.description.server === 'server under test' ? Object.values(baselines.databases) : []))

describe.skipIf(skip !== undefined)('efficiency against the floor and a peer', () => {
  const tasker = orchestratorSession(run, 'baselines', {
    skip,
    watch: true,
    then: async ({ completion }) => {
      dags = loadDags(run.templatesDir)
      baselines = await startBaselines(run, dags, log)
      const d = baselines.description
      log(`floor: ${d.floor}, pgmq ${d.pgmq} in ${d.floorDatabase}`)
      log(`peer: ${d.peer} in ${d.peerDatabase}`)
      log(`minimal chain: ${d.minimal} in ${d.minimalDatabase}`)
      log(`E2E completion: ${completion.mode} (${completion.reason}); ${samples} interleaved samples per workflow${samples < 100 ? ' — fewer than 100: p99 is not meaningful' : ''}`)
    },
  })

  afterAll(async () => {
    if (table.length > 0) console.log(['', `[baselines] efficiency (E2E ${tasker.completion.mode}; baselines on the ${baselines?.description.server ?? '?'}):`, ...efficiencyTable(table), ''].join('\n'))
    await baselines?.close()
  })

  describe.each(SHAPES)('%s workflow', (shape) => {
    test('E2E, floor, peer and minimal chain, interleaved', async ({ bench, task }) => {
      const b = baselines!
      const e2e = async () => {
        const t0 = performance.now()
        const created = await tasker.api.createTask(taskRequest(tasker.workflows[shape]))
        const done = await tasker.watcher.wait(created.task_uuid, TASK_TIMEOUT_MS)
        return done.at - t0
      }
      const { fn, fnOpts, samples: taken, iterations } = interleave(e2e, {
        floor: async () => (await b.floor.runTask(shape, TASK_TIMEOUT_MS)).ms,
        peer: async () => (await b.peer.runTask(shape, TASK_TIMEOUT_MS)).ms,
        minimal: async () => (await b.minimal.runTask(shape, TASK_TIMEOUT_MS)).ms,
      })
      const works = await work.measureEach(task, async () => (await bench(interleavedE2eName(shape), fnOpts, fn).run(options), baselineWork(shape, iterations(), b, await work.databases)))
      recordSamples(task, baselineName(shape, 'floor'), taken.floor!)
      recordSamples(task, baselineName(shape, 'peer'), taken.peer!)
      recordSamples(task, baselineName(shape, 'minimal'), taken.minimal!)
      recordEfficiency(task, shape, taken.e2e!, { floor: taken.floor!, peer: taken.peer!, minimal: taken.minimal! })
      recordWorkRatios(task, shape, works, { e2e: interleavedE2eName(shape), floor: baselineName(shape, 'floor'), peer: baselineName(shape, 'peer'), minimal: baselineName(shape, 'minimal') })
      annotateResult(task, { completion: tasker.completion.mode, pollIntervalMs: tasker.watcher.pollIntervalMs, steps: dags[shape].steps.length, baselines: b.description })
      table.push(...efficiencyRows(taskerMeta(task).measurements))
    })
  })
})

