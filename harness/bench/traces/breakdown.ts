/**
 * One task's spans → where its time went.
 *
 * Per step (a retried step counts its last attempt; `attempts` says how many there were):
 *   step.enqueue    the enqueue span
 *   queue.wait      enqueue end → claim start: the message waiting for a worker
 *   worker.claim    the claim span
 *   worker.execute  the handler
 *   worker.submit   the result submission span
 *   result.wait     submission end → result processing start: the result waiting in its queue
 *   result.process  the orchestration's result processing (which enqueues the next steps)
 * Waits are clamped at zero: a span ends a moment after the commit that makes its message
 * visible, so the next phase can start before it ends (and the OpenTelemetry JS SDK starts spans
 * at Date.now(), whole milliseconds, so neighbouring spans can overlap by a fraction of one).
 *
 * The latency budget follows the task's critical path: from the step that finished last, back
 * through the step whose result processing enqueued it (the enqueue span's ancestor, else the
 * result processing running, or last finished, when the enqueue began), to a root step. Every
 * instant between task.create start and task.finalize end is attributed to exactly one label —
 * the latest step on the path that covers it, within a step a span before an inferred wait,
 * then the innermost span — so the
 * labels sum to the server-side duration; instants no phase covers are `orchestration.gap`, and
 * the time between claim and submission outside the handler is `worker.other`.
 */
import { joinTaskSpans } from './join.ts'
import { classifySpans, STEP_PHASES, UNTRACED, type Flavour, type Phase, type PhaseSpan, type StepPhase, type TaskPhase } from '../../results/traces/phases.ts'
import type { NormalisedSpan } from '../../results/traces/types.ts'

export const BUDGET_LABELS = [
  'task.create',
  'step.enqueue',
  'queue.wait',
  'worker.claim',
  'worker.execute',
  'worker.other',
  'worker.submit',
  'result.wait',
  'result.process',
  'task.finalize',
  'orchestration.gap',
] as const
export type BudgetLabel = (typeof BUDGET_LABELS)[number]

export type StepMeasure = StepPhase | 'queue.wait' | 'result.wait'

export interface StepBreakdown {
  /** step_uuid (or the step name when the spans carry no uuid) */
  step: string
  stepName: string | undefined
  /** the worker that claimed (else executed) the step's last attempt */
  worker: string | undefined
  attempts: number
  /** milliseconds; a phase without a span is absent */
  phases: Partial<Record<StepMeasure, number>>
}

export interface TaskBreakdown {
  correlationId: string
  taskUuid: string | undefined
  flavour: Flavour | undefined
  /** every expected step and phase has its span */
  complete: boolean
  /** what is missing when not complete, e.g. "linear_step_2: worker.submit" */
  missing: string[]
  /**
   * phases this flavour's traces cannot explain, with why, e.g. "worker.claim: not in tasker-core's
   * traces (…)"; their time is inside a neighbouring wait, never reported as a phase
   */
  untraced: string[]
  spanCount: number
  steps: StepBreakdown[]
  task: Partial<Record<TaskPhase, number>>
  /** task.create start → task.finalize end */
  serverMs: number | undefined
  /** step names (else ids) from the root step to the last one */
  criticalPath: string[]
  /** milliseconds per label along the critical path; sums to serverMs */
  budget: Partial<Record<BudgetLabel, number>>
}

export interface AnalyseOptions {
  /** the task's step count, or its step names: fewer traced steps make the trace incomplete */
  expectSteps?: number | readonly string[]
}

interface Interval {
  startMs: number
  endMs: number
}

interface StepTimeline {
  key: string
  name: string | undefined
  worker: string | undefined
  attempts: number
  phases: Partial<Record<StepPhase, Interval>>
  /** the result.process span ids, to find which step's processing enqueued another */
  resultSpanIds: Set<string>
  /** the step's own enqueue spans (not a shared batch span), whose ancestors may be a result.process */
  enqueueSpans: NormalisedSpan[]
}

export function analyseTask(correlationId: string, given: readonly NormalisedSpan[], options: AnalyseOptions = {}): TaskBreakdown {
  // by correlation_id, and by the task_uuids and step_uuids those spans lead to (join.ts)
  const spans = joinTaskSpans(correlationId, given)
  const classified = classifySpans(spans)
  const flavour = classified.length === 0 ? undefined : classified.some((p) => p.flavour === 'reference') ? 'reference' : 'tasker-core'
  const taskUuid = spans.map((s) => s.attributes['task_uuid']).find((v): v is string => typeof v === 'string' && v !== '')

  const taskPhases: Partial<Record<TaskPhase, Interval>> = {}
  for (const phase of ['task.create', 'task.finalize'] as const) {
    const intervals = classified.filter((p) => p.phase === phase)
    // create: the outermost of nested spans; finalize: the last (a task is finalized once)
    if (intervals.length > 0) taskPhases[phase] = lastComponent(intervals)
  }
  const timelines = stepTimelines(classified)
  const steps = [...timelines.values()].sort((a, b) => (a.phases['worker.claim']?.startMs ?? a.phases['worker.execute']?.startMs ?? 0) - (b.phases['worker.claim']?.startMs ?? b.phases['worker.execute']?.startMs ?? 0))

  const missing = findMissing(spans.length, flavour, steps, taskPhases, classified, options.expectSteps)
  const path = criticalPath(steps, spans)
  const submitUntraced = flavour !== undefined && UNTRACED[flavour]['worker.submit'] !== undefined
  const { budget, serverMs } = attribute(path, taskPhases, submitUntraced)
  return {
    correlationId,
    taskUuid,
    flavour,
    complete: missing.length === 0,
    missing,
    untraced: flavour ? Object.entries(UNTRACED[flavour]).map(([phase, why]) => `${phase}: ${why}`) : [],
    spanCount: spans.length,
    steps: steps.map((s) => stepBreakdown(s, submitUntraced)),
    task: Object.fromEntries(Object.entries(taskPhases).map(([k, v]) => [k, round(v.endMs - v.startMs)])),
    serverMs,
    criticalPath: path.map((s) => s.name ?? s.key),
    budget,
  }
}

function stepTimelines(classified: PhaseSpan[]): Map<string, StepTimeline> {
  const groups = new Map<string, Map<StepPhase, PhaseSpan[]>>()
  const stepless: PhaseSpan[] = []
  const ends = new Map<string, PhaseSpan[]>()
  for (const p of classified) {
    if (!(STEP_PHASES as readonly Phase[]).includes(p.phase)) continue
    if (p.role === 'end') {
      if (p.step) ends.set(p.step, [...(ends.get(p.step) ?? []), p])
      continue
    }
    if (!p.step) {
      if (p.phase === 'step.enqueue') stepless.push(p) // a batch enqueue for several steps
      continue
    }
    let byPhase = groups.get(p.step)
    if (!byPhase) groups.set(p.step, (byPhase = new Map()))
    const list = byPhase.get(p.phase as StepPhase) ?? []
    list.push(p)
    byPhase.set(p.phase as StepPhase, list)
  }
  const timelines = new Map<string, StepTimeline>()
  for (const [key, byPhase] of groups) {
    const all = [...byPhase.values()].flat()
    const claimOrExec = byPhase.get('worker.claim') ?? byPhase.get('worker.execute') ?? []
    const timeline: StepTimeline = {
      key,
      name: all.find((p) => p.stepName)?.stepName,
      worker: lastBy(claimOrExec, (p) => p.startMs)?.worker ?? all.find((p) => p.worker)?.worker,
      attempts: Math.max(1, components(claimOrExec).length),
      phases: {},
      resultSpanIds: new Set((byPhase.get('result.process') ?? []).map((p) => p.span.spanId)),
      enqueueSpans: (byPhase.get('step.enqueue') ?? []).map((p) => p.span),
    }
    for (const [phase, list] of byPhase) timeline.phases[phase] = lastComponent(list)
    // a span that marks where a phase ends: the first one after the phase began
    for (const end of (ends.get(key) ?? []).sort((a, b) => a.startMs - b.startMs)) {
      const phase = timeline.phases[end.phase as StepPhase]
      if (phase && end.startMs >= phase.startMs) {
        phase.endMs = Math.max(phase.endMs, end.startMs)
        break
      }
    }
    const claim = timeline.phases['worker.claim'] ?? timeline.phases['worker.execute']
    if (!timeline.phases['step.enqueue'] && claim && stepless.length > 0) {
      const before = stepless.filter((p) => p.startMs <= claim.startMs)
      const batch = lastBy(before, (p) => p.startMs)
      if (batch) timeline.phases['step.enqueue'] = { startMs: batch.startMs, endMs: batch.endMs }
    }
    timelines.set(key, timeline)
  }
  return timelines
}

function stepBreakdown(t: StepTimeline, submitUntraced: boolean): StepBreakdown {
  const p = t.phases
  const phases: Partial<Record<StepMeasure, number>> = {}
  for (const phase of STEP_PHASES) {
    const interval = p[phase]
    if (interval) phases[phase] = round(interval.endMs - interval.startMs)
  }
  if (p['step.enqueue'] && p['worker.claim']) phases['queue.wait'] = wait(p['step.enqueue'], p['worker.claim'])
  else if (p['step.enqueue'] && p['worker.execute']) phases['queue.wait'] = wait(p['step.enqueue'], p['worker.execute'])
  // where the flavour traces no submission (tasker-core) the result waits from the handler's end
  const submitted = p['worker.submit'] ?? (submitUntraced ? p['worker.execute'] : undefined)
  if (submitted && p['result.process']) phases['result.wait'] = wait(submitted, p['result.process'])
  return { step: t.key, stepName: t.name, worker: t.worker, attempts: t.attempts, phases }
}

const wait = (before: Interval, after: Interval): number => round(Math.max(0, after.startMs - before.endMs))

function findMissing(
  spanCount: number,
  flavour: Flavour | undefined,
  steps: StepTimeline[],
  taskPhases: Partial<Record<TaskPhase, Interval>>,
  classified: PhaseSpan[],
  expectSteps: AnalyseOptions['expectSteps'],
): string[] {
  if (spanCount === 0) return ['no spans for this correlation id']
  if (!flavour) return [`${spanCount} spans, none of them a known phase (see harness/results/traces/phases.ts)`]
  const missing: string[] = []
  if (typeof expectSteps === 'number' && steps.length < expectSteps) {
    missing.push(`${expectSteps - steps.length} of ${expectSteps} steps have no spans`)
  } else if (Array.isArray(expectSteps)) {
    const seen = new Set(steps.map((s) => s.name))
    for (const name of expectSteps) if (!seen.has(name)) missing.push(`${name}: no spans`)
  }
  // The reference orchestrator traces every phase; for others, a phase is expected on every step
  // once it is seen on any step (so a late span is noticed without assuming what they trace).
  const seenPhases = new Set(classified.map((p) => p.phase))
  const stepPhases = flavour === 'reference' ? STEP_PHASES : STEP_PHASES.filter((p) => seenPhases.has(p) && p !== 'step.enqueue')
  for (const s of steps) {
    for (const phase of stepPhases) if (!s.phases[phase]) missing.push(`${s.name ?? s.key}: ${phase}`)
  }
  const taskRequired: TaskPhase[] = flavour === 'reference' ? ['task.create', 'task.finalize'] : seenPhases.has('task.finalize') ? ['task.finalize'] : []
  for (const phase of taskRequired) if (!taskPhases[phase]) missing.push(phase)
  return missing
}

/** Steps from a root to the one that finished last, each enqueued by the one before. */
function criticalPath(steps: StepTimeline[], spans: readonly NormalisedSpan[]): StepTimeline[] {
  const doneAt = (s: StepTimeline): number =>
    (s.phases['result.process'] ?? s.phases['worker.submit'] ?? s.phases['worker.execute'] ?? s.phases['worker.claim'])?.endMs ?? -Infinity
  const last = lastBy(steps, doneAt)
  if (!last) return []
  const byId = new Map(spans.map((s) => [s.spanId, s]))
  const path = [last]
  const onPath = new Set([last.key])
  for (let current = last; path.length <= steps.length; ) {
    const begin = current.phases['step.enqueue'] ?? current.phases['worker.claim'] ?? current.phases['worker.execute']
    if (!begin) break
    const candidates = steps.filter((s) => !onPath.has(s.key))
    const previous = enqueuedBySpanTree(current, candidates, byId) ?? enqueuedByTime(begin.startMs, candidates, doneAt)
    if (!previous) break
    path.unshift(previous)
    onPath.add(previous.key)
    current = previous
  }
  return path
}

/** The step whose result.process span is an ancestor of this step's enqueue span, if linked. */
function enqueuedBySpanTree(step: StepTimeline, candidates: StepTimeline[], byId: Map<string, NormalisedSpan>): StepTimeline | undefined {
  const latest = lastBy(step.enqueueSpans, (s) => s.startMs)
  for (let parent = latest?.parentSpanId, depth = 0; parent && depth < 32; depth++) {
    const found = candidates.find((c) => c.resultSpanIds.has(parent!))
    if (found) return found
    parent = byId.get(parent)?.parentSpanId
  }
  return undefined
}

/** Else by time: the step whose result processing was running when the enqueue began, or ended last before it. */
function enqueuedByTime(at: number, candidates: StepTimeline[], doneAt: (s: StepTimeline) => number): StepTimeline | undefined {
  const running = candidates.filter((c) => {
    const r = c.phases['result.process']
    return r !== undefined && r.startMs <= at && at <= r.endMs
  })
  if (running.length > 0) return lastBy(running, (c) => c.phases['result.process']!.startMs)
  return lastBy(
    candidates.filter((c) => doneAt(c) <= at),
    doneAt,
  )
}

interface Labelled extends Interval {
  label: BudgetLabel
  /** position on the critical path: later steps win where they overlap earlier ones */
  rank: number
  /** a wait or the worker's other time, inferred between spans: any span of the same step wins */
  derived: boolean
}

function attribute(path: StepTimeline[], task: Partial<Record<TaskPhase, Interval>>, submitUntraced: boolean): { budget: Partial<Record<BudgetLabel, number>>; serverMs: number | undefined } {
  const intervals: Labelled[] = []
  const add = (label: BudgetLabel, rank: number, i: Interval | undefined, derived = false) => {
    if (i && i.endMs > i.startMs) intervals.push({ label, rank, derived, startMs: i.startMs, endMs: i.endMs })
  }
  const between = (a: Interval | undefined, b: Interval | undefined): Interval | undefined => (a && b ? { startMs: a.endMs, endMs: b.startMs } : undefined)
  add('task.create', 0, task['task.create'])
  path.forEach((s, i) => {
    const p = s.phases
    const rank = i + 1
    add('step.enqueue', rank, p['step.enqueue'])
    add('queue.wait', rank, between(p['step.enqueue'], p['worker.claim'] ?? p['worker.execute']), true)
    add('worker.claim', rank, p['worker.claim'])
    add('worker.other', rank, between(p['worker.claim'], p['worker.submit']), true)
    add('worker.execute', rank, p['worker.execute'])
    add('worker.submit', rank, p['worker.submit'])
    add('result.wait', rank, between(p['worker.submit'] ?? (submitUntraced ? p['worker.execute'] : undefined), p['result.process']), true)
    add('result.process', rank, p['result.process'])
  })
  add('task.finalize', path.length + 1, task['task.finalize'])
  if (intervals.length === 0) return { budget: {}, serverMs: undefined }

  const t0 = task['task.create']?.startMs ?? Math.min(...intervals.map((i) => i.startMs))
  const t1 = task['task.finalize']?.endMs ?? Math.max(...intervals.map((i) => i.endMs))
  const cuts = [...new Set([t0, t1, ...intervals.flatMap((i) => [i.startMs, i.endMs])])].filter((t) => t >= t0 && t <= t1).sort((a, b) => a - b)
  const budget: Partial<Record<BudgetLabel, number>> = {}
  for (let k = 0; k + 1 < cuts.length; k++) {
    const a = cuts[k]!
    const b = cuts[k + 1]!
    let best: Labelled | undefined
    for (const i of intervals) {
      if (i.startMs > a || i.endMs < b) continue
      if (!best || wins(i, best)) best = i
    }
    const label = best?.label ?? 'orchestration.gap'
    budget[label] = (budget[label] ?? 0) + (b - a)
  }
  for (const key of Object.keys(budget) as BudgetLabel[]) budget[key] = round(budget[key]!)
  return { budget, serverMs: round(t1 - t0) }
}

/**
 * Later on the path first; within one step a span beats an interval inferred between spans (the
 * handler beats `worker.other` even when millisecond start times make it look a little longer),
 * then the innermost (shorter) span wins.
 */
function wins(a: Labelled, b: Labelled): boolean {
  if (a.rank !== b.rank) return a.rank > b.rank
  if (a.derived !== b.derived) return !a.derived
  return a.endMs - a.startMs < b.endMs - b.startMs
}

/** Overlapping spans of one phase merged; the last group (a retry's final attempt, or the outermost of nested spans). */
function lastComponent(list: readonly { startMs: number; endMs: number }[]): Interval {
  const groups = components(list)
  return groups[groups.length - 1]!
}

function components(list: readonly { startMs: number; endMs: number }[]): Interval[] {
  const sorted = [...list].sort((a, b) => a.startMs - b.startMs)
  const out: Interval[] = []
  for (const i of sorted) {
    const last = out[out.length - 1]
    if (last && i.startMs <= last.endMs) last.endMs = Math.max(last.endMs, i.endMs)
    else out.push({ startMs: i.startMs, endMs: i.endMs })
  }
  return out
}

function lastBy<T>(list: readonly T[], key: (t: T) => number): T | undefined {
  let best: T | undefined
  for (const item of list) if (best === undefined || key(item) >= key(best)) best = item
  return best
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000
