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
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, inject, test } from 'vitest'
import pg from 'pg'
import { parse } from 'yaml'
import { annotateResult } from '../harness/bench/record.ts'
import { benchOptions } from '../harness/bench/bench-options.ts'
import { noOrchestrator, skipReason } from '../harness/bench/requirements.ts'
import { createTaskerClient, taskerClientLimits, type TaskRequest, type TaskerClient } from '../harness/bench/tasker/api-client.ts'
import { waitForIdleBeforeFirstSample } from '../harness/bench/tasker/idle.ts'
import { chooseCompletionMode, createCompletionWatcher } from '../harness/bench/tasker/completion-mode.ts'
import type { CompletionWatcher } from '../harness/bench/tasker/completion.ts'

const NAMESPACE = 'enqueue_benchmark'
const QUEUE = `worker_${NAMESPACE}_queue`
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

let api: TaskerClient
let tracker: EnqueueTracker
let watcher: CompletionWatcher
let templates: Map<number, FanoutTemplate>

beforeAll(async () => {
  if (skip) return
  api = createTaskerClient(run.orchestratorUrl!, 32, taskerClientLimits(run.settings))
  await api.health()
  templates = loadFanoutTemplates(run.templatesDir)
  tracker = await createEnqueueTracker(run.databaseUrl)
  watcher = await createCompletionWatcher(run, api, chooseCompletionMode(run))
})

if (!skip) waitForIdleBeforeFirstSample(run, 'step-enqueueing')

afterAll(async () => {
  await watcher?.close()
  await tracker?.close()
  await api?.close()
})

describe.skipIf(skip !== undefined)('root steps enqueued by POST /v1/tasks', () => {
  test.for(SIZES)('enqueue %i root steps', async (n, { bench, task }) => {
    const template = templates.get(n)!
    tracker.takeCounts() // count this test's announcements only
    await bench(`enqueue ${n} root steps`, async () => {
      const request = fanoutRequest(template)
      const from = tracker.mark()
      const t0 = performance.now()
      const created = await api.createTask(request)
      const enqueuedAt = await tracker.waitForMessages(created.task_uuid, n, from, ENQUEUE_TIMEOUT_MS)
      const ms = enqueuedAt - t0
      await watcher.wait(created.task_uuid, TASK_TIMEOUT_MS) // untimed: let the workers finish it
      return { overriddenDuration: ms }
    }).run(options)
    annotateResult(task, { rootSteps: n, channel: CHANNEL, announcements: tracker.takeCounts(), completion: watcher.mode, completionWatcher: watcher.stats() })
  })
})

// ---- the fanout templates (fixtures/templates/fanout_<n>.yaml) ------------------------------------

interface FanoutTemplate {
  name: string
  namespace: string
  version: string
  steps: number
}

function loadFanoutTemplates(dir: string): Map<number, FanoutTemplate> {
  const found = new Map<number, FanoutTemplate>()
  for (const n of SIZES) {
    const file = path.join(dir, `fanout_${n}.yaml`)
    let doc: { name?: string; namespace_name?: string; version?: string; steps?: { name: string; dependencies?: string[] }[] }
    try {
      doc = parse(readFileSync(file, 'utf8')) as typeof doc
    } catch (err) {
      throw new Error(`${file}: cannot read the step-enqueueing template (${(err as Error).message}); the templates directory must have fanout_3, fanout_10 and fanout_50`)
    }
    const steps = doc.steps ?? []
    const roots = steps.filter((s) => (s.dependencies ?? []).length === 0).length
    if (doc.namespace_name !== NAMESPACE || roots !== n || steps.length !== n || !doc.name || !doc.version) {
      throw new Error(`${file}: expected ${n} steps, all roots, in namespace ${NAMESPACE} (found ${steps.length} steps, ${roots} roots, namespace ${doc.namespace_name})`)
    }
    found.set(n, { name: doc.name, namespace: doc.namespace_name, version: String(doc.version), steps: n })
  }
  return found
}

const RUN_ID = crypto.randomUUID()
let sequence = 0

/** Identical contexts are a 409 by contract: every request's context is unique to this run and call. */
function fanoutRequest(t: FanoutTemplate): TaskRequest {
  return {
    name: t.name,
    namespace: t.namespace,
    version: t.version,
    context: { even_number: 6, _test_run_id: RUN_ID, _seq: ++sequence },
    initiator: 'tasker-bench',
    source_system: 'tasker-bench',
    reason: `benchmark enqueue ${t.steps} root steps`,
    tags: ['benchmark'],
  }
}

// ---- watching the namespace channel ----------------------------------------------------------------

interface Announcement {
  /** performance.now() when the notification arrived */
  at: number
  /** messages it announces */
  count: number
  /** the task, when the payload carries the message */
  taskUuid: string | undefined
  /** msg ids to look up when it does not */
  msgIds: string[]
}

interface EnqueueTracker {
  /** Position in the stream; announcements from here on are candidates for the next task. */
  mark(): number
  /** When the n-th message of the task was announced (performance.now() clock). */
  waitForMessages(taskUuid: string, n: number, from: number, timeoutMs: number): Promise<number>
  /** Notifications by event_type since the last call (batch_ready: one per task). */
  takeCounts(): Record<string, number>
  close(): Promise<void>
}

async function createEnqueueTracker(databaseUrl: string): Promise<EnqueueTracker> {
  const listener = new pg.Client({ connectionString: databaseUrl })
  const lookup = new pg.Client({ connectionString: databaseUrl })
  await Promise.all([listener.connect(), lookup.connect()])
  listener.on('error', () => {}) // the server stopping at teardown must not crash the worker
  lookup.on('error', () => {})
  const seen: Announcement[] = []
  let kinds: Record<string, number> = {}
  let wake: (() => void) | undefined

  listener.on('notification', (msg) => {
    const at = performance.now()
    let body: { event_type?: string; message?: { task_uuid?: string }; msg_id?: number | string; msg_ids?: (number | string)[]; message_count?: number }
    try {
      body = JSON.parse(msg.payload ?? '{}') as typeof body
    } catch {
      body = { event_type: 'malformed' } // counted with the announcements, never thrown from the listener
    }
    const kind = body?.event_type ?? 'unknown'
    kinds[kind] = (kinds[kind] ?? 0) + 1
    if (kind === 'message_with_payload') seen.push({ at, count: 1, taskUuid: body.message?.task_uuid, msgIds: [] })
    else if (kind === 'batch_ready') seen.push({ at, count: body.message_count ?? body.msg_ids?.length ?? 0, taskUuid: undefined, msgIds: (body.msg_ids ?? []).map(String) })
    else if (kind === 'message_ready') seen.push({ at, count: 1, taskUuid: undefined, msgIds: body.msg_id === undefined ? [] : [String(body.msg_id)] })
    wake?.()
  })
  await listener.query(`LISTEN "${CHANNEL}"`)

  /** The tasks of announced messages, by msg id, from the queue or (already handled) its archive. */
  async function resolve(a: Announcement): Promise<string[]> {
    if (a.msgIds.length === 0) return []
    const { rows } = await lookup.query<{ task_uuid: string }>(
      `SELECT message->>'task_uuid' AS task_uuid FROM pgmq."q_${QUEUE}" WHERE msg_id = ANY($1::bigint[])
       UNION ALL
       SELECT message->>'task_uuid' AS task_uuid FROM pgmq."a_${QUEUE}" WHERE msg_id = ANY($1::bigint[])`,
      [a.msgIds],
    )
    return rows.map((r) => r.task_uuid)
  }

  return {
    mark: () => seen.length,
    async waitForMessages(taskUuid, n, from, timeoutMs) {
      const deadline = performance.now() + timeoutMs
      let counted = 0
      let next = from
      for (;;) {
        while (next < seen.length) {
          const a = seen[next++]!
          if (a.taskUuid !== undefined) counted += a.taskUuid === taskUuid ? a.count : 0
          else if (a.msgIds.length > 0) counted += (await resolve(a)).filter((t) => t === taskUuid).length
          // A batch too large to list its ids: the namespace is this bench's alone, so it is ours.
          else counted += a.count
          if (counted >= n) return a.at
        }
        const left = deadline - performance.now()
        if (left <= 0) throw new Error(`task ${taskUuid}: ${counted} of ${n} root step messages announced on ${CHANNEL} within ${timeoutMs} ms`)
        await new Promise<void>((r) => {
          const timer = setTimeout(r, left)
          wake = () => {
            clearTimeout(timer)
            wake = undefined
            r()
          }
        })
      }
    },
    takeCounts() {
      const taken = kinds
      kinds = {}
      return taken
    },
    async close() {
      await Promise.allSettled([listener.end(), lookup.end()])
    },
  }
}
