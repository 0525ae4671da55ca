/**
 * Scaling (opt-in: BENCH_SCALING=true; skipped otherwise, in every profile): what adding
 * orchestration instances and workers buys. Each topology of BENCH_SCALING_GRID (orchestrators ×
 * workers, default 1x1,1x2,2x2,2x4) is the reference orchestrator started afresh in its own
 * database on the run's server, several orchestration instances behind a loopback round-robin
 * front; each is measured for
 *   throughput ceiling  linear tasks completed per second with many always in flight
 *   fixed-rate latency  p50/p95 at BENCH_SCALING_RATE tasks/s (open model)
 * and printed as a grid with the gain per added process; the HTML report draws the curve.
 * Against an external deployment the user scales it and names the topology in BENCH_TOPOLOGY:
 * the bench measures that one topology and reports it.
 */
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, inject, test } from 'vitest'
import { recordSamples } from '../harness/bench/record.ts'
import { createScratchDatabase } from '../harness/db/scratch-database.ts'
import { sampleCount } from '../harness/config/profile.ts'
import { noOrchestrator, skipReason } from '../harness/bench/requirements.ts'
import { startEmbeddedOrchestrator } from '../harness/main/orchestrator/embedded.ts'
import { createTaskerClient, taskerClientLimits, type TaskerClient } from '../harness/tasker/api-client.ts'
import { createEventWatcher, type CompletionWatcher } from '../harness/tasker/completion.ts'
import { createCompletionWatcher } from '../harness/tasker/completion-mode.ts'
import { loadWorkflows } from '../harness/bench/tasker/workflows.ts'
import { measureTopology, type TopologyFigures } from '../harness/bench/scaling/measure-topology.ts'
import { coreWarning, describeTopology, gridTable, processes, type GridRow } from '../harness/bench/scaling/grid-table.ts'
import { summarize } from '../harness/results/percentiles.ts'

const run = inject('run')
const external = run.orchestrator.mode === 'external'
const skip = skipReason(
  'scaling',
  run.settings.BENCH_SCALING ? undefined : 'opt-in: set BENCH_SCALING=true to measure a grid of orchestrators × workers (BENCH_SCALING_GRID)',
  external ? noOrchestrator(run) : run.postgres.owned ? undefined : 'needs a PostgreSQL server the run owns, to start each topology in its own database (or an external deployment, with BENCH_TOPOLOGY)',
)
const grid = run.settings.BENCH_SCALING_GRID
const rate = run.settings.BENCH_SCALING_RATE
const seconds = run.profile === 'full' ? 10 : 2
const ceilingTasks = sampleCount(run, 300)
const TASK_TIMEOUT_MS = 60_000
const IN_FLIGHT = 64
const cores = os.availableParallelism()
const rows: GridRow[] = []

if (!skip) {
  const warning = external ? undefined : coreWarning(grid, cores)
  if (warning) console.log(`[scaling] WARNING: ${warning}`)
}

afterAll(() => {
  if (rows.length === 0) return
  console.log(`[scaling] ${ceilingTasks} tasks for the ceiling (${IN_FLIGHT} in flight), then ${rate} tasks/s for ${seconds} s, per topology:\n${gridTable(rows, rate)}`)
})

async function measure(api: TaskerClient, watcher: CompletionWatcher): Promise<TopologyFigures> {
  const workflow = loadWorkflows(run.templatesDir).linear
  return measureTopology({ api, watcher, workflow, ceilingTasks, inFlight: IN_FLIGHT, rate, seconds, taskTimeoutMs: TASK_TIMEOUT_MS })
}

function record(task: Parameters<typeof recordSamples>[0], label: string, orchestrators: number | undefined, workers: number | undefined, f: TopologyFigures): void {
  const latency = f.latencies.length > 0 ? summarize(f.latencies) : undefined
  const row: GridRow = { label, orchestrators, workers, throughput: f.throughput, latency, achievedAtRate: f.achievedAtRate }
  rows.push(row)
  const scaling = { topology: label, orchestrators, workers, processes: processes(row), throughput: f.throughput, offeredRate: rate, achievedAtRate: f.achievedAtRate, cores, external }
  if (f.latencies.length > 0) recordSamples(task, `scaling ${label}: latency @${rate}/s`, f.latencies, { scaling, failed: f.failed })
  if (f.failed > 0) throw new Error(`${f.failed} task(s) failed or timed out in topology ${label}: see the logs in ${run.resultsDir}/logs/scaling`)
}

describe.skipIf(skip !== undefined || !external)('scaling: the external deployment as scaled by its user', () => {
  test(`topology ${describeTopology(run.settings.BENCH_TOPOLOGY).label}`, async ({ task }) => {
    const topology = describeTopology(run.settings.BENCH_TOPOLOGY)
    const api = createTaskerClient(run.orchestratorUrl!, IN_FLIGHT + rate, taskerClientLimits(run.settings))
    const watcher = await createCompletionWatcher(run, api)
    try {
      record(task, topology.label, topology.orchestrators, topology.workers, await measure(api, watcher))
    } finally {
      await watcher.close()
      await api.close()
    }
  })
})

describe.skipIf(skip !== undefined || external)('scaling: orchestrators × workers of the reference orchestrator', () => {
  test.for(grid.map(([o, w]) => ({ o, w, label: `${o}x${w}` })))('topology $label', async ({ o, w, label }, { task }) => {
    const database = await createScratchDatabase(run.databaseUrl, run.runId, 'scaling') // dropped before the next topology
    const logDir = path.join(run.resultsDir, 'logs', 'scaling', label)
    const orchestrator = await startEmbeddedOrchestrator({ databaseUrl: database.url, orchestrators: o, workers: w, logDir }).catch(async (err) => {
      await database.drop().catch(() => {})
      throw err
    })
    const api = createTaskerClient(orchestrator.url, IN_FLIGHT + rate, taskerClientLimits(run.settings))
    let watcher: CompletionWatcher | undefined
    try {
      watcher = await createEventWatcher(database.url, api)
      record(task, label, o, w, await measure(api, watcher))
    } finally {
      await watcher?.close()
      await api.close()
      await orchestrator.stop()
      await database.drop().catch(() => {})
    }
  })
})
