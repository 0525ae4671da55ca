/**
 * Step enqueueing: POST /v1/tasks for a workflow of N independent root steps (3, 10, 50) → every
 * root step's message has been sent, as announced on `pgmq_message_ready.enqueue_benchmark`.
 * By contract the API enqueues the root steps before it answers, so this is task creation plus
 * the enqueueing of N steps, observed where a worker would observe it. Seed targets: < 50, 100,
 * 500 ms.
 *
 * t0 is taken right before the POST; the sample ends when the notification that completes this
 * task's N messages arrives (timestamped in the LISTEN connection's event handler; notifications
 * can arrive before the POST's response and are kept until asked for). A batch announcement names
 * its msg_ids only, so which task they belong to is looked up in the queue (or its archive) after
 * the fact, outside the sample. Between samples the bench waits, untimed, for the task to complete
 * so workers running earlier tasks' steps do not share the machine with the next sample.
 *
 * Needs the orchestrator's database: the embedded orchestrator's, or DATABASE_URL for a deployment.
 */
import { afterAll, describe, inject, test } from 'vitest'
import { annotateResult } from '../harness/bench/record.ts'
import { benchOptions } from '../harness/bench/bench-options.ts'
import { noOrchestrator, skipReason } from '../harness/bench/requirements.ts'
import { createEnqueueTracker, type EnqueueTracker } from '../harness/bench/tasker/enqueue-tracker.ts'
import { fanoutRequest, loadFanoutTemplates, type FanoutTemplate } from '../harness/bench/tasker/fanout-templates.ts'
import { orchestratorSession } from '../harness/bench/tasker/orchestrator-session.ts'

const NAMESPACE = 'enqueue_benchmark'
const CHANNEL = `pgmq_message_ready.${NAMESPACE}`
const SIZES = [3, 10, 50] as const
const ENQUEUE_TIMEOUT_MS = 10_000
const TASK_TIMEOUT_MS = 60_000

const run = inject('run')
const options = benchOptions(run, 100, 5)
const listenable = run.orchestrator.mode === 'embedded' || run.postgres.mode === 'external'
const skip = skipReason(
  'step-enqueueing',
  noOrchestrator(run),
  listenable ? undefined : 'the orchestrator’s database is not the run’s: set DATABASE_URL to the deployment’s database',
)

let tracker: EnqueueTracker
let templates: Map<number, FanoutTemplate>
const tasker = orchestratorSession(run, 'step-enqueueing', {
  skip,
  watch: true,
  then: async () => {
    templates = loadFanoutTemplates(run.templatesDir, SIZES, NAMESPACE)
    tracker = await createEnqueueTracker(run.databaseUrl, NAMESPACE)
  },
})

afterAll(async () => {
  await tracker?.close()
})

describe.skipIf(skip !== undefined)('root steps enqueued by POST /v1/tasks', () => {
  test.for(SIZES)('enqueue %i root steps', async (n, { bench, task }) => {
    const template = templates.get(n)!
    tracker.takeCounts() // count this test's announcements only
    await bench(`enqueue ${n} root steps`, async () => {
      const request = fanoutRequest(template)
      const from = tracker.mark()
      const t0 = performance.now()
      const created = await tasker.api.createTask(request)
      const enqueuedAt = await tracker.waitForMessages(created.task_uuid, n, from, ENQUEUE_TIMEOUT_MS)
      const ms = enqueuedAt - t0
      await tasker.watcher.wait(created.task_uuid, TASK_TIMEOUT_MS) // untimed: let the workers finish it
      return { overriddenDuration: ms }
    }).run(options)
    annotateResult(task, { rootSteps: n, channel: CHANNEL, announcements: tracker.takeCounts(), completion: tasker.watcher.mode, completionWatcher: tasker.watcher.stats() })
  })
})
