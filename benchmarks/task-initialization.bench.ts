/**
 * Task initialization: the POST /v1/tasks round trip (task, steps and edges written, root steps
 * enqueued, task view returned), linear and diamond. One keep-alive connection pool, so
 * connection set-up stays outside the samples; every request's context is unique.
 */
import { afterAll, beforeAll, inject, test } from 'vitest'
import { sampleCount } from '../setup/profile.ts'
import { createTaskerClient, type TaskerClient } from '../setup/tasker/api-client.ts'
import { loadWorkflows, taskRequest, type Shape, type Workflow } from '../setup/tasker/workflows.ts'

const run = inject('run')
let api: TaskerClient
let workflows: Record<Shape, Workflow>

beforeAll(async () => {
  if (!run.orchestratorUrl) throw new Error('the task-initialization bench needs an orchestrator: BENCH_ORCHESTRATOR is off')
  api = createTaskerClient(run.orchestratorUrl)
  await api.health()
  workflows = loadWorkflows(run.templatesDir)
})

afterAll(async () => {
  await api?.close()
})

const options = { iterations: sampleCount(run, 500), time: 0, warmupIterations: sampleCount(run, 20), warmupTime: 0 }

test.for(['linear', 'diamond'] as const)('create a %s task', async (shape, { bench }) => {
  await bench(`create ${shape} task`, async () => {
    const request = taskRequest(workflows[shape])
    const t0 = performance.now()
    const task = await api.createTask(request)
    const ms = performance.now() - t0
    if (!task.task_uuid) throw new Error(`POST /v1/tasks answered without a task_uuid: ${JSON.stringify(task).slice(0, 200)}`)
    return { overriddenDuration: ms }
  }).run(options)
})
