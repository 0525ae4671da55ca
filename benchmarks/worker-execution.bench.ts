/**
 * SYNTHETIC — the worker processing cycle (claim → execute → submit) per step, in single-worker
 * mode. Not production behaviour: in production several workers compete for steps and which one
 * claims a step is unknowable, which is why the suite's real worker figures come from the
 * end-to-end bench's trace breakdown. Here the design note's "synthetic benchmark" is built as it
 * describes: a separate reference orchestrator with ONE worker handling ONE step at a time
 * (TASKER_CONCURRENCY=1), linear tasks created one at a time, and each step's phases read from
 * its spans:
 *   worker cycle    claim start → result submission end
 *   worker.claim    read the message + step → in_progress
 *   worker.execute  the handler (arithmetic.square)
 *   worker.submit   store the result + result message + archive
 *   queue.wait      enqueue end → claim start (the idle worker waking on NOTIFY)
 *
 * It runs in its own database on the run's PostgreSQL server (created and dropped here), so it
 * needs a server the run owns (embedded or container PostgreSQL).
 */
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, inject, test } from 'vitest'
import { annotateResult, recordSamples } from '../harness/bench/record.ts'
import { createScratchDatabase, type ScratchDatabase } from '../harness/db/scratch-database.ts'
import { sampleCount } from '../harness/config/profile.ts'
import { skipReason } from '../harness/bench/requirements.ts'
import { startEmbeddedOrchestrator, type EmbeddedOrchestrator } from '../harness/main/orchestrator/embedded.ts'
import { createTaskerClient, taskerClientLimits, type TaskerClient } from '../harness/tasker/api-client.ts'
import { waitForIdleBeforeFirstSample } from '../harness/bench/tasker/idle.ts'
import { createEventWatcher, type CompletionWatcher } from '../harness/tasker/completion.ts'
import { loadWorkflows, taskRequest, type Workflow } from '../harness/bench/tasker/workflows.ts'
import { createTraceQuery, type TraceQuery } from '../harness/bench/traces/query.ts'
import { startTraceReceiver, type TraceReceiver } from '../harness/main/traces/receiver.ts'
import type { NormalisedSpan } from '../harness/results/traces/types.ts'

const LABEL = 'SYNTHETIC single worker'
const TASK_TIMEOUT_MS = 30_000

const run = inject('run')
const tasks = sampleCount(run, 100)
const warmupTasks = sampleCount(run, 5)
const skip = skipReason('worker-execution', run.postgres.owned ? undefined : 'needs a PostgreSQL server the run owns, to create its own database (embedded or container mode)')

let database: ScratchDatabase
let receiver: TraceReceiver
let orchestrator: EmbeddedOrchestrator
let api: TaskerClient
let watcher: CompletionWatcher
let traces: TraceQuery
let linear: Workflow

beforeAll(async () => {
  if (skip) return
  // A scratch database of the run: dropped below, and by the main process if this worker dies.
  database = await createScratchDatabase(run.databaseUrl, run.runId, 'worker')
  const databaseUrl = database.url

  receiver = await startTraceReceiver({ registerCleanup: false, log: (l) => console.log(`[worker-execution] ${l}`) })
  const logDir = path.join(run.resultsDir, 'logs', 'single-worker')
  mkdirSync(logDir, { recursive: true })
  orchestrator = await startEmbeddedOrchestrator({
    databaseUrl,
    workers: 1,
    logDir,
    otlpEndpoint: receiver.endpoint,
    env: { TASKER_CONCURRENCY: '1' },
  })
  api = createTaskerClient(orchestrator.url, 32, taskerClientLimits(run.settings))
  watcher = await createEventWatcher(databaseUrl, api)
  traces = createTraceQuery({ mode: 'embedded', reason: 'this bench’s own receiver', queryUrl: receiver.queryUrl })
  linear = loadWorkflows(run.templatesDir).linear
  console.log(`[worker-execution] ${LABEL}: 1 worker, 1 step at a time, ${tasks} linear tasks one after another — not production behaviour`)
})

// The run's own orchestrator shares the machine: its leftover backlog must not run beside this one.
if (!skip) waitForIdleBeforeFirstSample(run, 'worker-execution')

afterAll(async () => {
  await watcher?.close()
  await api?.close()
  await orchestrator?.stop()
  await receiver?.stop()
  await database?.drop().catch(() => {})
})

describe.skipIf(skip !== undefined)(`${LABEL}`, () => {
  test('claim → execute → submit per step, from spans (SYNTHETIC)', async ({ task }) => {
    const correlationIds: string[] = []
    for (let i = 0; i < warmupTasks + tasks; i++) {
      const created = await api.createTask(taskRequest(linear))
      await watcher.wait(created.task_uuid, TASK_TIMEOUT_MS)
      if (i >= warmupTasks) correlationIds.push(created.correlation_id)
    }

    const samples: Record<string, number[]> = { 'worker cycle': [], 'worker.claim': [], 'worker.execute': [], 'worker.submit': [], 'queue.wait': [] }
    const until = performance.now() + 15_000
    let incomplete = 0
    for (const correlationId of correlationIds) {
      const { spans, breakdown } = await traces.waitForTrace(correlationId, { expectSteps: linear.steps, until })
      if (!breakdown.complete) {
        incomplete++
        continue
      }
      for (const step of breakdown.steps) {
        for (const phase of ['worker.claim', 'worker.execute', 'worker.submit', 'queue.wait'] as const) {
          const v = step.phases[phase]
          if (v !== undefined) samples[phase]!.push(v)
        }
        const cycle = workerCycle(spans, step.step)
        if (cycle !== undefined) samples['worker cycle']!.push(cycle)
      }
    }
    if (samples['worker cycle']!.length === 0) throw new Error(`no complete traces among ${correlationIds.length} tasks: see the logs in ${run.resultsDir}/logs/single-worker`)
    for (const [phase, list] of Object.entries(samples)) {
      if (list.length > 0) recordSamples(task, `${LABEL}: ${phase}`, list, { synthetic: true, phase })
    }
    annotateResult(task, { synthetic: true, workers: 1, concurrency: 1, workflow: linear.name, tasks: correlationIds.length, incompleteTraces: incomplete })
  })
})

/** Claim start → submission end of one step's last attempt, from its spans. */
function workerCycle(spans: readonly NormalisedSpan[], stepUuid: string): number | undefined {
  const own = spans.filter((s) => s.attributes['step_uuid'] === stepUuid)
  const claims = own.filter((s) => s.name === 'step.claim').sort((a, b) => a.startMs - b.startMs)
  const submits = own.filter((s) => s.name === 'step.submit_result').sort((a, b) => a.endMs - b.endMs)
  const claim = claims[claims.length - 1]
  const submit = submits[submits.length - 1]
  return claim && submit ? Math.round((submit.endMs - claim.startMs) * 1000) / 1000 : undefined
}
