/**
 * A scenario's task breakdowns → phase percentiles and the mean latency budget, as JSON for the
 * results file. Only tasks with complete traces are aggregated (a phase that is missing because
 * its span came late would otherwise bias the figures); incomplete ones are counted and listed.
 *
 * The budget uses means because means add up: the mean of (phase sums along each task's critical
 * path) equals the sum of the phase means, so the rows plus the unexplained remainder add up to
 * the mean measured end-to-end time. Percentiles do not add up and are shown per phase only.
 */
import { summarize } from '../../results/percentiles.ts'
import { BUDGET_LABELS, type BudgetLabel, type StepMeasure, type TaskBreakdown } from './breakdown.ts'

/** Per-step phases, then task-wide ones, in the order a task lives through them. */
export const PHASE_ORDER = [
  'task.create',
  'step.enqueue',
  'queue.wait',
  'worker.claim',
  'worker.execute',
  'worker.submit',
  'result.wait',
  'result.process',
  'task.finalize',
  'server.total',
  'unexplained',
] as const
export type PhaseKey = (typeof PHASE_ORDER)[number]

export interface PhaseStats {
  n: number
  mean: number
  p50: number
  p95: number
  p99: number
  /** false below 100 samples: p99 is then not a tail figure */
  p99Meaningful: boolean
}

export interface BudgetRow {
  label: BudgetLabel | 'unexplained'
  meanMs: number
  /** of the mean end-to-end time, 0..1 */
  share: number
}

export interface ScenarioBreakdown {
  scenario: string
  tasks: number
  /** tasks whose traces were complete, the ones aggregated */
  complete: number
  incomplete: { count: number; examples: { correlationId: string; taskUuid: string | undefined; missing: string[] }[] }
  flavour: string | undefined
  /** phases the flavour's traces cannot explain, with why (TaskBreakdown.untraced) */
  untraced: string[]
  /** per step (step phases) or per task (task phases, server.total, unexplained) */
  phases: Partial<Record<PhaseKey, PhaseStats>>
  budget: {
    /** mean number of steps on the critical path */
    criticalPathSteps: number
    e2eMeanMs: number
    serverMeanMs: number
    rows: BudgetRow[]
  }
  /** steps run per worker id */
  workers: Record<string, number>
}

export interface SampleWithBreakdown {
  /** client-observed end-to-end milliseconds */
  ms: number
  breakdown: TaskBreakdown
}

export interface Aggregated {
  summary: ScenarioBreakdown
  /** the raw samples per phase (milliseconds), for recordSamples() */
  samples: Partial<Record<PhaseKey, number[]>>
}

const STEP_MEASURES: readonly StepMeasure[] = ['step.enqueue', 'queue.wait', 'worker.claim', 'worker.execute', 'worker.submit', 'result.wait', 'result.process']

export function aggregateBreakdowns(scenario: string, items: readonly SampleWithBreakdown[]): Aggregated {
  const complete = items.filter((i) => i.breakdown.complete && i.breakdown.serverMs !== undefined)
  const incomplete = items.filter((i) => !complete.includes(i))
  const samples: Partial<Record<PhaseKey, number[]>> = {}
  const push = (key: PhaseKey, v: number | undefined) => {
    if (v !== undefined && Number.isFinite(v)) (samples[key] ??= []).push(v)
  }
  const workers: Record<string, number> = {}
  const budgetSums: Partial<Record<BudgetLabel | 'unexplained', number>> = {}
  let pathSteps = 0
  let e2eSum = 0
  let serverSum = 0

  for (const { ms, breakdown: b } of complete) {
    push('task.create', b.task['task.create'])
    push('task.finalize', b.task['task.finalize'])
    for (const step of b.steps) {
      for (const m of STEP_MEASURES) push(m, step.phases[m])
      const w = step.worker ?? 'unknown'
      workers[w] = (workers[w] ?? 0) + 1
    }
    const server = b.serverMs!
    push('server.total', server)
    push('unexplained', round(ms - server))
    for (const label of BUDGET_LABELS) {
      const v = b.budget[label]
      if (v !== undefined) budgetSums[label] = (budgetSums[label] ?? 0) + v
    }
    budgetSums.unexplained = (budgetSums.unexplained ?? 0) + (ms - server)
    pathSteps += b.criticalPath.length
    e2eSum += ms
    serverSum += server
  }

  const n = complete.length
  const e2eMeanMs = n > 0 ? e2eSum / n : 0
  const rows: BudgetRow[] = [...BUDGET_LABELS, 'unexplained' as const]
    .filter((label) => budgetSums[label] !== undefined)
    .map((label) => {
      const meanMs = budgetSums[label]! / n
      return { label, meanMs: round(meanMs), share: e2eMeanMs > 0 ? round(meanMs / e2eMeanMs, 4) : 0 }
    })
  const phases: Partial<Record<PhaseKey, PhaseStats>> = {}
  for (const key of PHASE_ORDER) {
    const list = samples[key]
    if (!list || list.length === 0) continue
    const s = summarize(list)
    phases[key] = { n: s.n, mean: round(s.mean), p50: round(s.p50), p95: round(s.p95), p99: round(s.p99), p99Meaningful: s.p99Meaningful }
  }
  return {
    summary: {
      scenario,
      tasks: items.length,
      complete: n,
      incomplete: {
        count: incomplete.length,
        examples: incomplete.slice(0, 5).map((i) => ({ correlationId: i.breakdown.correlationId, taskUuid: i.breakdown.taskUuid, missing: i.breakdown.missing.slice(0, 8) })),
      },
      flavour: complete[0]?.breakdown.flavour ?? items[0]?.breakdown.flavour,
      untraced: [...new Set(items.flatMap((i) => i.breakdown.untraced ?? []))],
      phases,
      budget: { criticalPathSteps: n > 0 ? round(pathSteps / n, 2) : 0, e2eMeanMs: round(e2eMeanMs), serverMeanMs: round(n > 0 ? serverSum / n : 0), rows },
      workers,
    },
    samples,
  }
}

const round = (v: number, digits = 3): number => {
  const f = 10 ** digits
  return Math.round(v * f) / f
}
