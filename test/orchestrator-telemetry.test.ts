/**
 * The reference orchestrator's spans: with OTEL_EXPORTER_OTLP_ENDPOINT set, one task is one trace
 * holding every phase span, each carrying the correlation id (and the worker id on worker spans);
 * a caller's traceparent becomes the trace.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startTraceReceiver, type TraceReceiver } from '../harness/main/traces/receiver.ts'
import type { NormalisedSpan } from '../harness/results/traces/types.ts'
import { createTask, postJson, taskBody, useOrchestrator, waitForTasks } from './support/orchestrator.ts'

const PHASES = ['task.create', 'step.enqueue', 'step.claim', 'step.execute', 'step.submit_result', 'result.process', 'task.finalize']

async function spansOf(receiver: TraceReceiver, correlationId: string, until: (spans: NormalisedSpan[]) => boolean): Promise<NormalisedSpan[]> {
  const deadline = Date.now() + 20_000
  let spans: NormalisedSpan[] = []
  while (Date.now() < deadline) {
    spans = receiver.store.byCorrelationId(correlationId)
    if (until(spans)) return spans
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`spans for ${correlationId} incomplete after 20 s: ${spans.map((s) => s.name).join(', ')}`)
}

describe('telemetry', () => {
  let receiver: TraceReceiver
  beforeAll(async () => {
    receiver = await startTraceReceiver({ log: () => {}, registerCleanup: false })
  })
  afterAll(async () => {
    await receiver?.stop()
  })
  const o = useOrchestrator({ workers: 2, otlpEndpoint: () => receiver.endpoint })

  test('a linear task is one trace with every phase span and the ids on them', async () => {
    const id = await createTask(o.url, taskBody('linear'))
    await waitForTasks(o.db, [id])
    const view = await (await fetch(`${o.url}/v1/tasks/${id}`)).json() as { correlation_id: string }
    const spans = await spansOf(receiver, view.correlation_id, (s) => s.filter((x) => x.name === 'step.submit_result').length === 3 && s.some((x) => x.name === 'task.finalize'))
    expect(new Set(spans.map((s) => s.traceId)).size).toBe(1)
    for (const phase of PHASES) expect(spans.map((s) => s.name), phase).toContain(phase)
    for (const name of ['step.claim', 'step.execute', 'step.submit_result', 'step.enqueue', 'result.process']) {
      expect(spans.filter((s) => s.name === name), name).toHaveLength(3)
    }
    for (const s of spans) {
      expect(s.attributes.correlation_id, s.name).toBe(view.correlation_id)
      expect(s.attributes.task_uuid, s.name).toBe(id)
    }
    for (const s of spans.filter((x) => x.name.startsWith('step.') && x.name !== 'step.enqueue')) {
      expect(String(s.attributes.worker_id), s.name).toMatch(/^worker-\d+$/)
      expect(s.attributes.step_uuid, s.name).toBeTruthy()
      expect(s.service).toBe('tasker-worker')
    }
    expect(spans.find((s) => s.name === 'task.create')!.service).toBe('tasker-orchestration')
  })

  test("the caller's traceparent is the task's trace", async () => {
    const traceId = 'a1b2c3d4e5f60718293a4b5c6d7e8f90'
    const res = await postJson(`${o.url}/v1/tasks`, taskBody('diamond'), { traceparent: `00-${traceId}-1122334455667788-01` })
    expect(res.status).toBe(201)
    await waitForTasks(o.db, [res.body.task_uuid])
    const spans = await spansOf(receiver, res.body.correlation_id, (s) => s.some((x) => x.name === 'task.finalize'))
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([traceId]))
    expect(spans.find((s) => s.name === 'task.create')!.parentSpanId).toBe('1122334455667788')
  })
})
