/**
 * Task initialization: the POST /v1/tasks round trip (task, steps and edges written, root steps
 * enqueued, task view returned), linear and diamond. One keep-alive connection pool, so
 * connection set-up stays outside the samples; every request's context is unique.
 *
 * Each created task runs on: before the first sample the file waits until the system is idle,
 * and after each scenario it waits (bounded, untimed) until its own tasks are settled, so neither
 * the next scenario nor the next bench file measures this one's backlog. Both waits are recorded.
 * Work per task counts the samples and the drain: creating and running each task.
 */
import { inject, test } from 'vitest'
import { benchOptions } from '../harness/bench/bench-options.ts'
import { noOrchestrator, skipReason } from '../harness/bench/requirements.ts'
import { annotateResult } from '../harness/bench/record.ts'
import { orchestratorSession } from '../harness/bench/tasker/orchestrator-session.ts'
import { openBacklogProbe, waitForTasksSettled } from '../harness/bench/tasker/idle.ts'
import { taskRequest } from '../harness/bench/tasker/workflows.ts'
import { workPerTask } from '../harness/bench/work/bench-work.ts'

const run = inject('run')
const skip = skipReason('task-initialization', noOrchestrator(run))
const work = workPerTask(run, 'task-initialization')
const tasker = orchestratorSession(run, 'task-initialization', { skip })

/** Waits (bounded by BENCH_IDLE_TIMEOUT_MS, outside the samples) until these tasks are settled. */
async function drain(taskUuids: string[]): Promise<Record<string, unknown>> {
  const opened = await openBacklogProbe(run)
  if (!opened) return { skipped: 'no orchestrator' }
  try {
    const wait = await waitForTasksSettled(opened.probe, taskUuids, { timeoutMs: run.settings.BENCH_IDLE_TIMEOUT_MS })
    console.log(
      wait.settled
        ? `[task-initialization] its ${wait.tasks} tasks settled ${wait.waitedMs} ms after the last sample (${opened.probe.source})`
        : `[task-initialization] ${wait.unsettled} of its ${wait.tasks} tasks still unsettled after ${wait.waitedMs} ms (BENCH_IDLE_TIMEOUT_MS); the next bench may see them`,
    )
    return { source: opened.probe.source, ...wait }
  } finally {
    await opened.close()
  }
}

const options = benchOptions(run, 500, 20)

test.skipIf(skip !== undefined).for(['linear', 'diamond'] as const)('create a %s task', async (shape, { bench, task: testTask }) => {
  const created: string[] = []
  let drained: Record<string, unknown> = {}
  await work.measure(testTask, `create ${shape} task`, async () => (await bench(`create ${shape} task`, async () => {
    const request = taskRequest(tasker.workflows[shape])
    const t0 = performance.now()
    const task = await tasker.api.createTask(request)
    const ms = performance.now() - t0
    if (!task.task_uuid) throw new Error(`POST /v1/tasks answered without a task_uuid: ${JSON.stringify(task).slice(0, 200)}`)
    created.push(task.task_uuid)
    return { overriddenDuration: ms }
  }).run(options), (drained = await drain(created)), created.length))
  annotateResult(testTask, { drainAfterSamples: drained })
})
