/**
 * The trace pipeline against the real reference orchestrator: its processes export to the
 * embedded receiver, and the breakdown of a linear task whose second step sleeps a known time
 * (`bench_sleep_ms` in the context) shows that time in that step's handler phase.
 *
 * Timing assertions are loose on purpose (a busy 2-core machine): the median of a few tasks,
 * ±10 % of a 300 ms sleep; the other handlers well under it.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEmbeddedOrchestrator, type EmbeddedOrchestrator } from '../harness/main/orchestrator/embedded.ts'
import { createTaskerClient, type TaskerClient } from '../harness/tasker/api-client.ts'
import { createTraceQuery, type TraceQuery } from '../harness/bench/traces/query.ts'
import { startTraceReceiver, type TraceReceiver } from '../harness/main/traces/receiver.ts'
import type { TaskBreakdown } from '../harness/bench/traces/breakdown.ts'
import { usePostgres } from './support/postgres.ts'

const SLEEP_MS = 300
const TASKS = 5

const db = usePostgres()
let receiver: TraceReceiver
let orchestrator: EmbeddedOrchestrator
let api: TaskerClient
let query: TraceQuery
const logDir = mkdtempSync(path.join(os.tmpdir(), 'tasker-bench-traces-test-'))

beforeAll(async () => {
  receiver = await startTraceReceiver({ registerCleanup: false, log: () => {} })
  orchestrator = await startEmbeddedOrchestrator({
    databaseUrl: db.server.url,
    workers: 2,
    logDir,
    otlpEndpoint: receiver.endpoint,
  })
  api = createTaskerClient(orchestrator.url)
  query = createTraceQuery({ mode: 'embedded', reason: 'test', queryUrl: receiver.queryUrl })
}, 120_000)

afterAll(async () => {
  await api?.close()
  await orchestrator?.stop()
  await receiver?.stop()
  rmSync(logDir, { recursive: true, force: true })
}, 60_000)

/** Creates a linear task and polls until it is complete; returns its ids and the observed ms. */
async function runLinearTask(context: Record<string, unknown>): Promise<{ correlationId: string; taskUuid: string; ms: number }> {
  const t0 = performance.now()
  const task = await api.createTask({
    name: 'mathematical_sequence',
    namespace: 'linear_workflow',
    version: '1.0.0',
    context: { even_number: 6, _unique: crypto.randomUUID(), ...context },
    initiator: 'tasker-bench-test',
    source_system: 'tasker-bench-test',
    reason: 'trace breakdown test',
  })
  for (let i = 0; i < 3_000; i++) {
    const view = await api.getTask(task.task_uuid)
    if (view.execution_status === 'all_complete') return { correlationId: task.correlation_id, taskUuid: task.task_uuid, ms: performance.now() - t0 }
    if (view.execution_status === 'blocked_by_failures') throw new Error(`task ${task.task_uuid} failed: ${JSON.stringify(view.steps)}`)
    await new Promise((r) => setTimeout(r, 10))
  }
  throw new Error(`task ${task.task_uuid} did not complete within 30 s`)
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

describe('breakdown of the reference orchestrator’s traces', () => {
  it('shows a handler’s known sleep in its handler phase, and a budget that adds up', async () => {
    await runLinearTask({}) // warm-up: first calls compile and connect
    const breakdowns: { b: TaskBreakdown; ms: number }[] = []
    for (let i = 0; i < TASKS; i++) {
      const { correlationId, taskUuid, ms } = await runLinearTask({ bench_sleep_ms: { linear_step_2: SLEEP_MS } })
      const { breakdown } = await query.waitForTrace(correlationId, { expectSteps: ['linear_step_1', 'linear_step_2', 'linear_step_3'], deadlineMs: 15_000 })
      expect(breakdown, breakdown.missing.join('; ')).toMatchObject({ complete: true, flavour: 'reference', taskUuid, untraced: [] })
      // every phase has its span: claim and submission too
      for (const step of breakdown.steps) expect(Object.keys(step.phases)).toEqual(expect.arrayContaining(['step.enqueue', 'worker.claim', 'worker.execute', 'worker.submit', 'result.process']))
      breakdowns.push({ b: breakdown, ms })
    }

    const handler = (name: string) => breakdowns.map(({ b }) => b.steps.find((s) => s.stepName === name)!.phases['worker.execute']!)
    expect(median(handler('linear_step_2'))).toBeGreaterThanOrEqual(SLEEP_MS * 0.9)
    expect(median(handler('linear_step_2'))).toBeLessThanOrEqual(SLEEP_MS * 1.1)
    expect(median(handler('linear_step_1'))).toBeLessThan(SLEEP_MS * 0.1)
    expect(median(handler('linear_step_3'))).toBeLessThan(SLEEP_MS * 0.1)

    for (const { b, ms } of breakdowns) {
      expect(b.criticalPath).toEqual(['linear_step_1', 'linear_step_2', 'linear_step_3'])
      expect(b.steps.every((s) => /^worker-\d+$/.test(s.worker ?? ''))).toBe(true)
      const budget = Object.values(b.budget).reduce((a, v) => a + (v ?? 0), 0)
      expect(budget).toBeCloseTo(b.serverMs!, 1)
      expect(b.budget['worker.execute']).toBeGreaterThanOrEqual(SLEEP_MS * 0.9)
      // Client and span clocks differ by a millisecond or so (spans start at Date.now()), so only
      // coarse relations hold between the observed time and the server-side one.
      expect(ms).toBeGreaterThanOrEqual(SLEEP_MS)
      expect(b.serverMs!).toBeLessThan(ms + 50)
    }
  })
})
