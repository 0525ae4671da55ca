/**
 * End-to-end latency: POST /v1/tasks → the task is complete, for the linear, diamond, tree and
 * mixed-DAG workflows, one task per sample.
 *
 * t0 is taken right before the POST; the sample ends when completion is observed: on the
 * completion event (a NOTIFY from a trigger on task transitions) where the suite can reach the
 * orchestrator's database, else by polling the API. The mode and poll interval are recorded with
 * the result, as are each sample's task_uuid and correlation_id (the trace breakdown joins on them)
 * and the server-side duration (the task's complete transition − its created_at, read from the
 * orchestrator's database; null with the reason where the suite cannot read it). Before the first
 * sample the file waits until the system is idle (harness/bench/tasker/idle.ts). After each workflow, the samples'
 * traces are joined by correlation id into a worker-level breakdown (queue wait, claim, handler,
 * submit, result processing, orchestration gaps; which worker ran which step). Each scenario's
 * timed phase also counts the work per task: statements, round trips, rows, buffers, WAL, commits,
 * pgmq messages, NOTIFYs, CPU by process group (harness/bench/work/); on the suite's own server
 * with autovacuum paused while the file runs and a VACUUM (ANALYZE) between warm-up and samples
 * (from the second scenario on), so that the blocks per task repeat whatever the machine's load.
 */
import { describe, inject, test } from 'vitest'
import { annotateResult } from '../harness/bench/record.ts'
import { profileValue, sampleCount } from '../harness/config/profile.ts'
import { fixedCount } from '../harness/bench/bench-options.ts'
import { noOrchestrator, skipReason } from '../harness/bench/requirements.ts'
import { pgLimits } from '../harness/db/limits.ts'
import { createPollWatcher, type CompletionWatcher } from '../harness/tasker/completion.ts'
import { orchestratorSession } from '../harness/bench/tasker/orchestrator-session.ts'
import { taskRequest, type Workflow } from '../harness/bench/tasker/workflows.ts'
import { serverDurations, type SampleRecord } from '../harness/bench/tasker/samples.ts'
import { orchestratorDatabaseUrl } from '../harness/bench/tasker/idle.ts'
import { reportBreakdown } from '../harness/bench/traces/report.ts'
import { workPerTask } from '../harness/bench/work/bench-work.ts'

const run = inject('run')
const TASK_TIMEOUT_MS = 30_000
const skip = skipReason('e2e', noOrchestrator(run))
const samples = profileValue(run.settings, 'BENCH_E2E_SAMPLES')
const options = fixedCount(samples, sampleCount(run, 10))
const work = workPerTask(run, 'e2e', undefined, { vacuumBeforeWindows: true })
const durationsFrom = { url: orchestratorDatabaseUrl(run), limits: pgLimits(run.settings) }
const tasker = orchestratorSession(run, 'e2e', {
  skip,
  watch: true,
  then: async ({ completion }) => console.log(`[e2e] completion: ${completion.mode} (${completion.reason}); ${samples} samples per scenario${samples < 100 ? ' — fewer than 100: p99 is not meaningful' : ''}`),
})

/** Work per task counts the timed phase only: the window starts again after the warm-up (untimed). */
async function startCounting(resetTasks: () => void) {
  await work.restart()
  resetTasks()
}

/** Creates one task, waits for it; keeps its ids for the results file (run phase only). */
function oneTask(workflow: Workflow, records: SampleRecord[], waitFor: () => CompletionWatcher) {
  let phase: 'warmup' | 'run' = 'warmup'
  let tasks = 0
  const fn = async () => {
    const request = taskRequest(workflow)
    const t0 = performance.now()
    const task = await tasker.api.createTask(request)
    const done = await waitFor().wait(task.task_uuid, TASK_TIMEOUT_MS)
    const ms = done.at - t0
    tasks++
    if (phase === 'run') records.push({ task_uuid: task.task_uuid, correlation_id: task.correlation_id, ms })
    return { overriddenDuration: ms }
  }
  const fnOpts = {
    async beforeAll(mode?: string) {
      phase = mode === 'warmup' ? 'warmup' : 'run'
      if (phase === 'run') await startCounting(() => (tasks = 0))
    },
  }
  return { fn, fnOpts, tasks: () => tasks }
}

describe.each(['linear', 'diamond', 'tree', 'mixed_dag'] as const)('%s workflow', (shape) => {
  test.skipIf(skip !== undefined)(`one task at a time`, async ({ bench, task }) => {
    const records: SampleRecord[] = []
    const { fn, fnOpts, tasks } = oneTask(tasker.workflows[shape], records, () => tasker.watcher)
    await work.measure(task, `e2e ${shape}`, async () => (await bench(`e2e ${shape}`, fnOpts, fn).run(options), tasks()))
    annotateResult(task, {
      completion: tasker.completion.mode,
      pollIntervalMs: tasker.watcher.pollIntervalMs,
      steps: tasker.workflows[shape].steps.length,
      serverDuration: await serverDurations(records, durationsFrom),
      samples: records,
      completionWatcher: tasker.watcher.stats(),
    })
    await reportBreakdown(task, shape, records, run.traces, { expectSteps: tasker.workflows[shape].steps })
  })
})

test.skipIf(skip !== undefined)('linear, polled every BENCH_POLL_INTERVAL_MS (tasker-core’s method)', async ({ bench, task }) => {
  const interval = run.settings.BENCH_POLL_INTERVAL_MS
  const poller = createPollWatcher(tasker.api, interval)
  const records: SampleRecord[] = []
  const { fn, fnOpts, tasks } = oneTask(tasker.workflows.linear, records, () => poller)
  await work.measure(task, `e2e linear (poll ${interval} ms)`, async () => (await bench(`e2e linear (poll ${interval} ms)`, fnOpts, fn).run(options), tasks()))
  const serverDuration = await serverDurations(records, durationsFrom)
  annotateResult(task, { completion: 'poll', pollIntervalMs: interval, serverDuration, samples: records })
})

test.skipIf(skip !== undefined)('10 linear tasks started together, until the last completes', async ({ bench, task }) => {
  const K = 10
  const records: SampleRecord[] = []
  let tasks = 0
  const fnOpts = { beforeAll: (mode?: string) => (mode === 'run' ? startCounting(() => (tasks = 0)) : undefined) }
  await work.measure(task, `e2e linear x${K} concurrent`, async () => (await bench(`e2e linear x${K} concurrent`, fnOpts, async () => {
    const requests = Array.from({ length: K }, () => taskRequest(tasker.workflows.linear))
    const t0 = performance.now()
    const finished = await Promise.all(
      requests.map(async (request) => {
        const created = await tasker.api.createTask(request)
        const done = await tasker.watcher.wait(created.task_uuid, TASK_TIMEOUT_MS)
        tasks++
        records.push({ task_uuid: created.task_uuid, correlation_id: created.correlation_id, ms: done.at - t0 })
        return done.at
      }),
    )
    return { overriddenDuration: Math.max(...finished) - t0 }
  }).run({ ...options, iterations: Math.max(5, Math.ceil(options.iterations / K)) }), tasks))
  annotateResult(task, { completion: tasker.completion.mode, concurrency: K, tasks: records.length, completionWatcher: tasker.watcher.stats() })
})
