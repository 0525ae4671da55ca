/**
 * Synthetic spans → phases, waits, the critical-path latency budget and its remainder
 * (harness/bench/traces/breakdown.ts, aggregate.ts, report.ts), for the reference orchestrator's span
 * names (tasker-core's: test/traces-tasker-core.test.ts).
 */
import { describe, expect, it } from 'vitest'
import { analyseTask, type TaskBreakdown } from '../harness/bench/traces/breakdown.ts'
import { aggregateBreakdowns } from '../harness/bench/traces/aggregate.ts'
import { formatBreakdown } from '../harness/bench/traces/format.ts'
import { reportBreakdown } from '../harness/bench/traces/report.ts'
import type { TraceQuery } from '../harness/bench/traces/query.ts'
import { taskerMeta } from '../harness/results/meta.ts'
import type { NormalisedSpan, SpanEvent } from '../harness/results/traces/types.ts'

const BASE = 1_700_000_000_000
let nextId = 1

/** A span at BASE + [start, end] ms of the task's one trace. */
function span(name: string, start: number, end: number, attributes: Record<string, string> = {}, events: SpanEvent[] = [], corr = 'corr-1'): NormalisedSpan {
  return {
    traceId: 'ab'.repeat(16),
    spanId: (nextId++).toString(16).padStart(16, '0'),
    parentSpanId: undefined,
    name,
    kind: 1,
    service: name.startsWith('step.') && name !== 'step.enqueue' ? 'tasker-worker' : 'tasker-orchestration',
    startMs: BASE + start,
    endMs: BASE + end,
    durationMs: end - start,
    attributes: { correlation_id: corr, task_uuid: 'task-1', ...attributes },
    resource: {},
    events,
    status: { code: 0 },
  }
}

const step = (uuid: string, name: string, worker?: string) => ({ step_uuid: uuid, step_name: name, ...(worker ? { worker_id: worker } : {}) })

type SpanMaker = (name: string, start: number, end: number, attributes?: Record<string, string>) => NormalisedSpan
type Interval = [start: number, end: number]

/**
 * One step's five spans, each at [start, end] ms: its enqueue and result processing (orchestration),
 * the worker's claim, handler and result submission.
 */
function stepSpans(uuid: string, name: string, worker: string, t: Record<'enqueue' | 'claim' | 'execute' | 'submit' | 'process', Interval>, make: SpanMaker = span): NormalisedSpan[] {
  return [
    make('step.enqueue', ...t.enqueue, step(uuid, name)),
    make('step.claim', ...t.claim, step(uuid, name, worker)),
    make('step.execute', ...t.execute, step(uuid, name, worker)),
    make('step.submit_result', ...t.submit, step(uuid, name, worker)),
    make('result.process', ...t.process, step(uuid, name)),
  ]
}

/**
 * linear: s1 → s2 → s3. The next step's enqueue happens inside the previous step's result
 * processing; finalization inside the last one's.
 */
function linearSpans(corr = 'corr-1', shift = 0): NormalisedSpan[] {
  const at: SpanMaker = (name, a, b, attrs = {}) => span(name, a + shift, b + shift, attrs, [], corr)
  return [
    at('task.create', 0, 10),
    ...stepSpans('s1', 'linear_step_1', 'w1', { enqueue: [6, 8], claim: [12, 13], execute: [14, 24], submit: [25, 28], process: [30, 40] }, at),
    ...stepSpans('s2', 'linear_step_2', 'w2', { enqueue: [37, 38], claim: [41, 42], execute: [42, 52], submit: [53, 55], process: [56, 64] }, at),
    ...stepSpans('s3', 'linear_step_3', 'w1', { enqueue: [62, 63], claim: [65, 66], execute: [66, 76], submit: [77, 80], process: [81, 90] }, at),
    at('task.finalize', 86, 89),
  ]
}

const sum = (o: Record<string, number | undefined>) => Object.values(o).reduce((a: number, b) => a + (b ?? 0), 0)

describe('one task, reference span names', () => {
  it('splits every step into enqueue, queue wait, claim, handler, submission, result wait and processing', () => {
    const b = analyseTask('corr-1', linearSpans(), { expectSteps: 3 })
    expect(b).toMatchObject({ complete: true, missing: [], flavour: 'reference', taskUuid: 'task-1', spanCount: 17 })
    expect(b.steps.map((s) => [s.stepName, s.worker, s.attempts])).toEqual([
      ['linear_step_1', 'w1', 1],
      ['linear_step_2', 'w2', 1],
      ['linear_step_3', 'w1', 1],
    ])
    expect(b.steps[0]!.phases).toEqual({
      'step.enqueue': 2,
      'queue.wait': 4, // enqueue end 8 → claim start 12
      'worker.claim': 1,
      'worker.execute': 10,
      'worker.submit': 3,
      'result.wait': 2, // submission end 28 → processing start 30
      'result.process': 10,
    })
    expect(b.task).toEqual({ 'task.create': 10, 'task.finalize': 3 })
  })

  it('attributes every instant of the critical path once, so the budget sums to the server-side duration', () => {
    const b = analyseTask('corr-1', linearSpans())
    expect(b.criticalPath).toEqual(['linear_step_1', 'linear_step_2', 'linear_step_3'])
    expect(b.serverMs).toBe(89) // task.create start 0 → task.finalize end 89
    expect(b.budget).toEqual({
      'task.create': 6, // until the root's enqueue starts; its tail runs beside the queue wait
      'step.enqueue': 4,
      'queue.wait': 9, // 4 + 3 + 2: a later step wins over the previous step's processing tail
      'worker.claim': 3,
      'worker.other': 4,
      'worker.execute': 30,
      'worker.submit': 8,
      'result.wait': 4,
      'result.process': 18, // 7 + 6 + 5: up to the next enqueue, or finalization
      'task.finalize': 3,
    })
    expect(sum(b.budget)).toBeCloseTo(b.serverMs!, 9)
  })

  it('reports time on the path that no span covers as orchestration.gap', () => {
    const b = analyseTask('corr-1', [
      span('task.create', 0, 5),
      ...stepSpans('s1', 'only', 'w1', { enqueue: [2, 3], claim: [4, 5], execute: [5, 6], submit: [6, 7], process: [8, 9] }),
      span('task.finalize', 12, 13),
    ])
    expect(b.complete).toBe(true)
    expect(b.budget['orchestration.gap']).toBe(3)
    expect(sum(b.budget)).toBeCloseTo(13, 9)
  })

  it('keeps the handler’s time when millisecond start times make the next span start before it ends', () => {
    // The OpenTelemetry JS SDK starts spans at Date.now() (1 ms resolution) and ends them with a
    // sub-millisecond duration, so submission can appear to start 0.3 ms before the handler ended.
    const b = analyseTask('corr-1', [
      span('task.create', 0, 5),
      ...stepSpans('s1', 'only', 'w1', { enqueue: [2, 3], claim: [34, 41], execute: [41, 342.313], submit: [342, 348], process: [351, 382] }),
      span('task.finalize', 376, 380),
    ])
    expect(b.budget['worker.execute']).toBe(301) // the overlapping 0.313 ms goes to the shorter submission
    expect(b.budget['worker.submit']).toBe(6)
    expect(b.budget['worker.other']).toBeUndefined()
    expect(b.steps[0]!.phases['worker.execute']).toBe(301.313)
    expect(sum(b.budget)).toBeCloseTo(380, 9)
  })

  it('follows the branch that finished last through a diamond', () => {
    const spans = [
      span('task.create', 0, 5),
      ...stepSpans('a', 'diamond_start', 'w1', { enqueue: [2, 3], claim: [4, 5], execute: [5, 6], submit: [6, 7], process: [8, 12] }),
      // b is the slow branch (a 27 ms handler), c the quick one
      ...stepSpans('b', 'diamond_branch_b', 'w1', { enqueue: [10, 11], claim: [12, 13], execute: [13, 40], submit: [41, 42], process: [43, 47] }),
      ...stepSpans('c', 'diamond_branch_c', 'w2', { enqueue: [10, 11], claim: [12, 13], execute: [13, 15], submit: [16, 17], process: [18, 20] }),
      ...stepSpans('d', 'diamond_end', 'w2', { enqueue: [45, 46], claim: [47, 48], execute: [48, 49], submit: [49, 50], process: [51, 55] }),
      span('task.finalize', 53, 54),
    ]
    const b = analyseTask('corr-1', spans, { expectSteps: ['diamond_start', 'diamond_branch_b', 'diamond_branch_c', 'diamond_end'] })
    expect(b.complete).toBe(true)
    expect(b.criticalPath).toEqual(['diamond_start', 'diamond_branch_b', 'diamond_end'])
    expect(b.budget['worker.execute']).toBe(1 + 27 + 1) // branch c's handler is off the path
    expect(sum(b.budget)).toBeCloseTo(b.serverMs!, 9)
    expect(b.steps.find((s) => s.stepName === 'diamond_branch_c')!.worker).toBe('w2')
  })

  it('uses the span tree, when there is one, to tell which step’s result processing enqueued a step', () => {
    const spans = linearSpans()
    // s2's enqueue is a child of s1's result.process…
    const rp1 = spans.find((s) => s.name === 'result.process' && s.attributes.step_uuid === 's1')!
    const enq2 = spans.find((s) => s.name === 'step.enqueue' && s.attributes.step_uuid === 's2')!
    // …and moved outside it in time, where timing alone would not link them.
    enq2.parentSpanId = rp1.spanId
    enq2.startMs = BASE + 40.5
    enq2.endMs = BASE + 40.8
    const extra = span('result.process', 39, 41, step('sx', 'side_step'))
    const b = analyseTask('corr-1', [...spans, extra])
    expect(b.criticalPath).toEqual(['linear_step_1', 'linear_step_2', 'linear_step_3'])
  })

  it('counts retries and measures the last attempt', () => {
    const spans = linearSpans().filter((s) => !(s.attributes.step_uuid === 's1' && ['step.claim', 'step.execute'].includes(s.name)))
    spans.push(
      span('step.claim', 12, 12.5, step('s1', 'linear_step_1', 'w2')),
      span('step.execute', 12.5, 13, step('s1', 'linear_step_1', 'w2')),
      span('step.claim', 16, 17, step('s1', 'linear_step_1', 'w1')),
      span('step.execute', 17, 24, step('s1', 'linear_step_1', 'w1')),
    )
    const s1 = analyseTask('corr-1', spans).steps[0]!
    expect(s1).toMatchObject({ attempts: 2, worker: 'w1' })
    expect(s1.phases['worker.execute']).toBe(7)
    expect(s1.phases['queue.wait']).toBe(8) // enqueue end 8 → the last claim at 16
  })

  it('gives steps enqueued by one batch span (no step_uuid) that span', () => {
    const spans = linearSpans().filter((s) => s.name !== 'step.enqueue' || s.attributes.step_uuid !== 's1')
    spans.push(span('step.enqueue', 5, 9, { step_count: '1' }))
    const b = analyseTask('corr-1', spans)
    expect(b.complete).toBe(true)
    expect(b.steps[0]!.phases).toMatchObject({ 'step.enqueue': 4, 'queue.wait': 3 })
  })
})

describe('incomplete traces are reported, not guessed', () => {
  it('names the missing phase and the missing steps', () => {
    const spans = linearSpans().filter((s) => !(s.name === 'step.submit_result' && s.attributes.step_uuid === 's2'))
    const b = analyseTask('corr-1', spans, { expectSteps: 4 })
    expect(b.complete).toBe(false)
    expect(b.missing).toEqual(['1 of 4 steps have no spans', 'linear_step_2: worker.submit'])
    expect(b.steps[1]!.phases['result.wait']).toBeUndefined()

    const named = analyseTask('corr-1', linearSpans(), { expectSteps: ['linear_step_1', 'linear_step_4'] })
    expect(named.missing).toEqual(['linear_step_4: no spans'])
  })

  it('without finalization, and without any span', () => {
    expect(analyseTask('corr-1', linearSpans().filter((s) => s.name !== 'task.finalize')).missing).toEqual(['task.finalize'])
    expect(analyseTask('corr-x', [])).toMatchObject({ complete: false, missing: ['no spans for this correlation id'], steps: [], budget: {} })
    expect(analyseTask('corr-1', [span('http.request', 0, 1)]).missing[0]).toMatch(/none of them a known phase/)
  })
})

describe('a scenario', () => {
  const twoTasks = () => {
    const a = analyseTask('corr-a', linearSpans('corr-a'))
    const b = analyseTask('corr-b', linearSpans('corr-b', 200))
    const broken = analyseTask('corr-c', linearSpans('corr-c', 400).filter((s) => s.name !== 'task.finalize'))
    return [
      { ms: 100, breakdown: a }, // 89 on the server + 11
      { ms: 98, breakdown: b }, // 89 + 9
      { ms: 500, breakdown: broken },
    ]
  }

  it('aggregates complete tasks into phase percentiles and a budget whose rows add up to the mean E2E', () => {
    const { summary, samples } = aggregateBreakdowns('linear', twoTasks())
    expect(summary).toMatchObject({ scenario: 'linear', tasks: 3, complete: 2, incomplete: { count: 1, examples: [{ correlationId: 'corr-c', missing: ['task.finalize'] }] } })
    expect(samples['worker.execute']).toEqual([10, 10, 10, 10, 10, 10])
    expect(samples['unexplained']).toEqual([11, 9])
    expect(summary.phases['queue.wait']).toMatchObject({ n: 6, p50: 3, mean: 3, p95: 4, p99Meaningful: false })
    expect(summary.phases['server.total']).toMatchObject({ n: 2, p50: 89 })
    expect(summary.workers).toEqual({ w1: 4, w2: 2 })
    const rows = Object.fromEntries(summary.budget.rows.map((r) => [r.label, r.meanMs]))
    expect(rows['unexplained']).toBe(10)
    expect(rows['worker.execute']).toBe(30)
    expect(summary.budget).toMatchObject({ e2eMeanMs: 99, serverMeanMs: 89, criticalPathSteps: 3 })
    expect(summary.budget.rows.reduce((a, r) => a + r.meanMs, 0)).toBeCloseTo(99, 6)
    expect(summary.budget.rows.reduce((a, r) => a + r.share, 0)).toBeCloseTo(1, 3)

    const text = formatBreakdown(summary)
    expect(text).toMatch(/linear: 2 of 3 tasks with complete traces; 1 with incomplete traces/)
    expect(text).toMatch(/corr-c.*task\.finalize/)
    expect(text).toMatch(/worker\.execute\s+6\s+10\.00/)
    expect(text).toMatch(/unexplained\s+10\.00 ms/)
    expect(text).toMatch(/= measured E2E\s+99\.00 ms/)
    expect(text).toMatch(/steps per worker: w1 4, w2 2/)
  })

  it('reportBreakdown queries each sample, prints, records `<scenario>: <phase>` samples and annotates', async () => {
    const byCorr = new Map(twoTasks().map((t) => [t.breakdown.correlationId, t.breakdown]))
    const asked: string[] = []
    const query: TraceQuery = {
      mode: 'embedded',
      spansFor: async () => [],
      waitForTrace: async (cid, options) => {
        asked.push(`${cid}:${options?.expectSteps}`)
        return { spans: [], breakdown: structuredClone(byCorr.get(cid)!) as TaskBreakdown, waitedMs: 0 }
      },
    }
    const task = { meta: {} }
    const printed: string[] = []
    const records = [
      { task_uuid: 'ta', correlation_id: 'corr-a', ms: 100 },
      { task_uuid: 'tb', correlation_id: 'corr-b', ms: 98 },
      { task_uuid: 'tc', correlation_id: 'corr-c', ms: 500 },
    ]
    const summary = await reportBreakdown(task, 'linear', records, { mode: 'embedded', reason: 'test', queryUrl: 'http://127.0.0.1:1' }, { query, expectSteps: 3, print: (t) => printed.push(t) })
    expect(asked.sort()).toEqual(['corr-a:3', 'corr-b:3', 'corr-c:3'])
    expect(summary?.complete).toBe(2)
    expect(printed.join('\n')).toMatch(/\[traces\] linear: 2 of 3/)
    const meta = taskerMeta(task)
    const names = meta.measurements.map((m) => m.name)
    expect(names).toContain('linear: worker.claim')
    expect(names).toContain('linear: unexplained')
    expect(meta.measurements.find((m) => m.name === 'linear: worker.execute')!.summary).toMatchObject({ n: 6, p50: 10 })
    expect(meta.annotations.traceBreakdown).toMatchObject({ linear: { mode: 'embedded', complete: 2 } })
  })

  it('with traces off says why and records nothing', async () => {
    const task = { meta: {} }
    const printed: string[] = []
    const result = await reportBreakdown(task, 'linear', [{ task_uuid: 't', correlation_id: 'c', ms: 1 }], { mode: 'off', reason: 'BENCH_TRACES=off' }, { print: (t) => printed.push(t) })
    expect(result).toBeUndefined()
    expect(printed).toEqual(['[traces] linear: no worker-level breakdown (BENCH_TRACES=off)'])
    expect(taskerMeta(task).measurements).toEqual([])
    expect(taskerMeta(task).annotations.traceBreakdown).toEqual({ linear: { mode: 'off', reason: 'BENCH_TRACES=off' } })
  })
})
