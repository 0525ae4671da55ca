/**
 * What the SQL bench finds at each scale besides its timings (harness/results/findings.ts):
 * - the plan node that dominates each function, and whether its plan changed from the scale
 *   before;
 * - the candidate set: every task get_next_ready_tasks offers when asked for all of them, named
 *   by their dataset index (the same task in any database seeded alike), so that npm run
 *   conformance compares two deployments' timings only where they answer over the same tasks;
 * - the p50 of every measured call, for its scaling order once every scale is measured.
 */
import type pg from 'pg'
import type { CapturedPlan } from '../database/explain.ts'
import { fitScaling, formatScaling, type ScalingPoint } from '../../results/scaling.ts'
import type { Finding } from '../../results/findings.ts'
import type { RunInfo } from '../../results/run-info.ts'
import { checkFindingBudgets, type FindingsLog } from './findings.ts'

/** Above this many tasks the candidate set is not taken (every candidate's context is evaluated). */
export const CANDIDATE_SET_MAX_TASKS = 10_000

const CANDIDATES = (fn: string) => `
  SELECT (t.context->'_dataset'->>'index') AS i
  FROM ${fn}($1::integer) r JOIN tasker.tasks t ON t.task_uuid = r.task_uuid
  ORDER BY 1`

/** The dataset indices of every task get_next_ready_tasks returns, asked for as many as there are tasks (rolled back). */
export async function candidateSet(client: pg.Client, nextReadyTasks: string, tasks: number): Promise<string[]> {
  await client.query('BEGIN')
  try {
    return (await client.query<{ i: string | null }>(CANDIDATES(nextReadyTasks), [tasks])).rows.map((r) => r.i ?? '?').sort((a, b) => Number(a) - Number(b))
  } finally {
    await client.query('ROLLBACK')
  }
}

/** Plan findings of one scale; `shapes` carries each function's plan shape from one scale to the next. */
export function planFindings(plans: ReadonlyMap<string, CapturedPlan>, scale: string, tasks: number, shapes: Map<string, { scale: string; shape: string }>): Finding[] {
  const out: Finding[] = []
  for (const [name, p] of plans) {
    const before = shapes.get(name)
    shapes.set(name, { scale, shape: p.shape })
    out.push({ kind: 'plan', name, scale, tasks, dominant: p.dominant ?? 'no timings', shape: p.shape, ...(before && before.shape !== p.shape ? { changedFrom: before.scale } : {}) })
  }
  return out
}

/** p50s by call name (without its scale), as measured. */
export class ScalingPoints {
  readonly #points = new Map<string, ScalingPoint[]>()

  add(name: string, tasks: number, p50: number | undefined): void {
    if (p50 === undefined) return
    this.#points.set(name, [...(this.#points.get(name) ?? []), { tasks, p50 }])
  }

  /** name → fit and its line (`O(N^0.98), +0.73 ms per 1K tasks (…)` / `flat (…)`) */
  fits(): { name: string; fit: ReturnType<typeof fitScaling>; line: string }[] {
    return [...this.#points].map(([name, points]) => {
      const fit = fitScaling(points)
      return { name, fit, line: formatScaling(fit) }
    })
  }
}

export interface ScaleFindingsInput {
  client: pg.Client
  /** qualified name of the database's get_next_ready_tasks */
  nextReady: string
  writable: boolean
  plans: ReadonlyMap<string, CapturedPlan>
  label: string
  tasks: number
  planShapes: Map<string, { scale: string; shape: string }>
}

/** The plan findings of a scale, and its candidate set where the bench seeded the data and it is small enough. */
export async function recordScaleFindings(log: FindingsLog, s: ScaleFindingsInput): Promise<void> {
  for (const f of planFindings(s.plans, s.label, s.tasks, s.planShapes)) log.add(f)
  if (s.writable && s.tasks <= CANDIDATE_SET_MAX_TASKS) {
    log.add({ kind: 'candidates', name: 'get_next_ready_tasks(all)', scale: s.label, tasks: await candidateSet(s.client, s.nextReady, s.tasks) })
  }
}

/**
 * Fits, prints and records each call's scaling order and checks it against its `scaling:`
 * budgets; the violations (undefined: nothing was measured).
 */
export function reportScalingOrder(run: RunInfo, points: ScalingPoints, log: FindingsLog, print: (line: string) => void): string[] | undefined {
  const fits = points.fits()
  if (fits.length === 0) return undefined
  const violations: string[] = []
  for (const { name, fit, line } of fits) {
    const observed = 'unavailable' in fit ? {} : { 'scaling exponent': fit.exponent, 'scaling ms_per_1k': fit.msPer1K }
    const checked = checkFindingBudgets(run, 'scaling', name, observed)
    print(`scaling: ${name}: ${line}`)
    log.add({ kind: 'scaling', name, fit, line, budgets: checked.checks })
    violations.push(...checked.violations)
  }
  return violations
}
