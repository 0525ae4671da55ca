/**
 * tasker-core's spans, shaped as its sources emit them at c8733f95 (names and attributes: see the
 * citations in harness/results/traces/phases.ts): separate traces for the API call, each worker step and each
 * result; correlation_id only on creation, the worker's step execution and finalization; the
 * result handling names its step only; pgmq spans name a queue. The breakdown joins them by
 * correlation_id, task_uuid and step_uuid, leaves out another task's spans that overlap in time,
 * and reports the phases tasker-core's traces cannot explain instead of making them up.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { aggregateBreakdowns } from '../harness/bench/traces/aggregate.ts'
import { analyseTask } from '../harness/bench/traces/breakdown.ts'
import { formatBreakdown } from '../harness/bench/traces/format.ts'
import { joinTaskSpans } from '../harness/bench/traces/join.ts'
import { PHASE_RULES } from '../harness/results/traces/phases.ts'
import { createTraceQuery } from '../harness/bench/traces/query.ts'
import type { Attributes, NormalisedSpan } from '../harness/results/traces/types.ts'

const BASE = 1_700_000_000_000
let nextId = 1

interface Made extends NormalisedSpan {}

function span(trace: string, name: string, start: number, end: number, attributes: Attributes, parent?: Made, service = 'tasker-orchestration'): Made {
  return {
    traceId: trace.padStart(32, '0'),
    spanId: (nextId++).toString(16).padStart(16, '0'),
    parentSpanId: parent?.spanId,
    name,
    kind: 1,
    service,
    startMs: BASE + start,
    endMs: BASE + end,
    durationMs: end - start,
    attributes,
    resource: { 'service.name': service },
    events: [],
    status: { code: 0 },
  }
}

const worker = 'tasker-worker'

/** One linear task (three steps) as tasker-core traces it; `t` shifts it in time. */
function taskerCoreTask(corr: string, task: string, steps: [string, string][], trace: string, t = 0): Made[] {
  const out: Made[] = []
  // API: create_and_enqueue_task_from_request → create_task_from_request, then the first enqueue
  const api = span(`${trace}0`, 'create_and_enqueue_task_from_request', t + 0, t + 12, { correlation_id: corr, task_name: 'mathematical_sequence' })
  out.push(api, span(`${trace}0`, 'create_task_from_request', t + 1, t + 8, { correlation_id: corr, task_name: 'mathematical_sequence' }, api))
  let enqueue = span(`${trace}0`, 'enqueue_ready_steps', t + 9, t + 12, { task_uuid: task }, api)
  out.push(enqueue, span(`${trace}0`, 'send_json_message', t + 10, t + 11, { queue: 'linear_workflow_queue' }, enqueue))
  let at = t + 12
  steps.forEach(([stepUuid, stepName], i) => {
    const w = `${trace}${i + 1}`
    // the worker reads the message (a pgmq span that names no step), executes, gets the completion
    out.push(span(`${w}a`, 'read_specific_message', at + 1, at + 2, { queue: 'linear_workflow_queue', message_id: String(i + 1) }, undefined, worker))
    out.push(span(`${w}b`, 'worker.step_execution', at + 4, at + 5, { correlation_id: corr, task_uuid: task, step_uuid: stepUuid, step_name: stepName, namespace: 'linear_workflow' }, undefined, worker))
    out.push(span(`${w}c`, 'worker.step_completion_received', at + 14, at + 15, { task_uuid: task, step_uuid: stepUuid, success: true }, undefined, worker))
    out.push(span(`${w}d`, 'send_json_message', at + 15, at + 16, { queue: 'orchestration_step_results' }, undefined, worker))
    // orchestration: the result, which enqueues the next step or finalizes the task
    const result = span(`${w}e`, 'handle_step_execution_result', at + 18, at + 26, { step_uuid: stepUuid })
    out.push(result)
    if (i < steps.length - 1) {
      enqueue = span(`${w}e`, 'enqueue_ready_steps', at + 22, at + 25, { task_uuid: task }, result)
      out.push(enqueue, span(`${w}e`, 'send_json_message', at + 23, at + 24, { queue: 'linear_workflow_queue' }, enqueue))
    } else {
      out.push(span(`${w}e`, 'finalize_task', at + 22, at + 25, { task_uuid: task, correlation_id: corr }, result))
    }
    at += 25
  })
  return out
}

const STEPS: [string, string][] = [
  ['0197a000-0000-7000-8000-000000000001', 'linear_step_1'],
  ['0197a000-0000-7000-8000-000000000002', 'linear_step_2'],
  ['0197a000-0000-7000-8000-000000000003', 'linear_step_3'],
]
const OTHER_STEPS: [string, string][] = [
  ['0197b000-0000-7000-8000-000000000001', 'linear_step_1'],
  ['0197b000-0000-7000-8000-000000000002', 'linear_step_2'],
  ['0197b000-0000-7000-8000-000000000003', 'linear_step_3'],
]
const CORR = '0197c000-0000-7000-8000-00000000000c'
const TASK = '0197d000-0000-7000-8000-00000000000d'

/** Our task, plus another task running at the same time (shifted by 3 ms): its spans must not leak in. */
function pool(): Made[] {
  return [...taskerCoreTask(CORR, TASK, STEPS, 'a'), ...taskerCoreTask('0197c000-0000-7000-8000-0000000000ff', '0197d000-0000-7000-8000-0000000000ff', OTHER_STEPS, 'b', 3)]
}

const sum = (o: Record<string, number | undefined>): number => Object.values(o).reduce<number>((a, b) => a + (b ?? 0), 0)

describe('tasker-core spans', () => {
  it('every tasker-core name in the mapping cites its source location at c8733f95', async () => {
    const { readFileSync } = await import('node:fs')
    const source = readFileSync(new URL('../harness/results/traces/phases.ts', import.meta.url), 'utf8').split('\n')
    for (const rule of PHASE_RULES.filter((r) => r.flavour === 'tasker-core')) {
      const i = source.findIndex((l) => l.includes(`name: '${rule.name}'`))
      expect(i, rule.name).toBeGreaterThan(0)
      expect(source[i - 1], `${rule.name}: the comment above it cites file:line`).toMatch(/\/\/ .*\.rs:\d+/)
    }
  })

  it('the join follows correlation_id → task_uuid → step_uuid, and keeps pgmq spans only inside the task’s traces', () => {
    const joined = joinTaskSpans(CORR, pool())
    const names = joined.map((s) => s.name)
    expect(names.filter((n) => n === 'handle_step_execution_result')).toHaveLength(3) // step_uuid only, yet joined
    expect(names.filter((n) => n === 'worker.step_completion_received')).toHaveLength(3)
    expect(names.filter((n) => n === 'enqueue_ready_steps')).toHaveLength(3)
    expect(names.filter((n) => n === 'send_json_message')).toHaveLength(3) // the step enqueues, not the worker's stray sends
    expect(names).not.toContain('read_specific_message') // a trace of its own that names no task
    const otherSteps = new Set(OTHER_STEPS.map(([uuid]) => uuid))
    expect(joined.filter((s) => otherSteps.has(String(s.attributes.step_uuid)))).toEqual([])
  })

  it('gives the phases the spans explain, and lists the ones they cannot', () => {
    const b = analyseTask(CORR, pool(), { expectSteps: STEPS.map(([, name]) => name) })
    expect(b).toMatchObject({ flavour: 'tasker-core', complete: true, missing: [], taskUuid: TASK, task: { 'task.create': 12, 'task.finalize': 3 } })
    expect(b.steps.map((s) => [s.stepName, s.attempts])).toEqual(STEPS.map(([, name]) => [name, 1]))
    // enqueue: the task's batch enqueue_ready_steps; execute: from firing the handler to its completion
    expect(b.steps.map((s) => s.phases)).toEqual([
      { 'step.enqueue': 3, 'queue.wait': 4, 'worker.execute': 10, 'result.wait': 4, 'result.process': 8 },
      { 'step.enqueue': 3, 'queue.wait': 4, 'worker.execute': 10, 'result.wait': 4, 'result.process': 8 },
      { 'step.enqueue': 3, 'queue.wait': 4, 'worker.execute': 10, 'result.wait': 4, 'result.process': 8 },
    ])
    expect(b.steps.every((s) => s.phases['worker.claim'] === undefined && s.phases['worker.submit'] === undefined)).toBe(true)
    expect(b.untraced).toEqual([
      expect.stringMatching(/^worker\.claim: not in tasker-core's traces .*queue\.wait$/),
      expect.stringMatching(/^worker\.submit: not in tasker-core's traces .*result\.wait$/),
    ])
    expect(b.criticalPath).toEqual(STEPS.map(([, name]) => name))
    expect(b.serverMs).toBe(12 + 3 * 25)
    expect(sum(b.budget)).toBeCloseTo(b.serverMs!, 9)
    expect(b.budget['worker.claim']).toBeUndefined()
    expect(b.budget['worker.submit']).toBeUndefined()
  })

  it('the scenario report says which phases are not traced', () => {
    const b = analyseTask(CORR, pool(), { expectSteps: 3 })
    const { summary } = aggregateBreakdowns('linear', [{ ms: 100, breakdown: b }])
    expect(summary.untraced).toEqual(b.untraced)
    const text = formatBreakdown(summary)
    expect(text).toContain("not traced: worker.claim: not in tasker-core's traces")
    expect(text).toContain("not traced: worker.submit: not in tasker-core's traces")
    expect(text).not.toMatch(/^\s+worker\.(claim|submit)\s+\d/m) // no row of numbers for them
  })

  it('a result that never came back is missing, not invented', () => {
    const spans = pool().filter((s) => !(s.name === 'handle_step_execution_result' && s.attributes.step_uuid === STEPS[1]![0]))
    const b = analyseTask(CORR, spans, { expectSteps: 3 })
    expect(b.complete).toBe(false)
    expect(b.missing).toContain('linear_step_2: result.process')
  })
})

/** A Jaeger query API (loopback) holding these spans: /api/traces finds traces by service and tag, as Jaeger does. */
async function fakeJaeger(spans: Made[]): Promise<{ url: string; searches: Record<string, string>[]; close: () => Promise<void> }> {
  const searches: Record<string, string>[] = []
  const byTrace = new Map<string, Made[]>()
  for (const sp of spans) byTrace.set(sp.traceId, [...(byTrace.get(sp.traceId) ?? []), sp])
  const toJaeger = (traceId: string, list: Made[]) => ({
    traceID: traceId,
    processes: { p1: { serviceName: 'tasker-orchestration' }, p2: { serviceName: 'tasker-worker' } },
    spans: list.map((sp) => ({
      traceID: traceId,
      spanID: sp.spanId,
      operationName: sp.name,
      references: sp.parentSpanId ? [{ refType: 'CHILD_OF', traceID: traceId, spanID: sp.parentSpanId }] : [],
      startTime: Math.round(sp.startMs * 1000),
      duration: Math.round((sp.endMs - sp.startMs) * 1000),
      tags: Object.entries(sp.attributes).map(([key, value]) => ({ key, value })),
      processID: sp.service === 'tasker-worker' ? 'p2' : 'p1',
    })),
  })
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const send = (body: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    if (url.pathname === '/api/services') return send({ data: ['tasker-orchestration', 'tasker-worker'] })
    const service = url.searchParams.get('service') ?? ''
    const tags = JSON.parse(url.searchParams.get('tags') ?? '{}') as Record<string, string>
    searches.push(tags)
    const match = (sp: Made) => sp.service === service && Object.entries(tags).every(([k, v]) => String(sp.attributes[k]) === v)
    send({ data: [...byTrace].filter(([, list]) => list.some(match)).map(([id, list]) => toJaeger(id, list)) })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, searches, close: () => new Promise<void>((r) => server.close(() => r())) }
}

describe('reading tasker-core spans back from Jaeger', () => {
  it('follows the correlation id to task_uuid and step_uuid searches, so the result spans are found', async () => {
    const jaeger = await fakeJaeger(pool())
    try {
      const query = createTraceQuery({ mode: 'jaeger', reason: 'test', queryUrl: jaeger.url })
      const spans = await query.spansFor(CORR)
      expect(spans.filter((sp) => sp.name === 'handle_step_execution_result')).toHaveLength(3)
      expect(jaeger.searches).toEqual(expect.arrayContaining([{ correlation_id: CORR }, { task_uuid: TASK }, { step_uuid: STEPS[0]![0] }]))
      const { breakdown } = await query.waitForTrace(CORR, { expectSteps: 3, deadlineMs: 5_000 })
      expect(breakdown).toMatchObject({ complete: true, flavour: 'tasker-core', taskUuid: TASK })
      expect(breakdown.steps.map((st) => st.phases['result.process'])).toEqual([8, 8, 8])
      expect(breakdown.untraced).toHaveLength(2)
    } finally {
      await jaeger.close()
    }
  })
})
