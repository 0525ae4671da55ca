/**
 * The scaling order of a measured call: how its p50 grows with the number of tasks in the
 * database, from the p50s at the scales measured (BENCH_SQL_SCALES).
 *
 * - exponent: least squares slope of ln(p50) on ln(N): 1 means twice the tasks, twice the time
 *   (O(N)); 0 means the size of the tables does not matter.
 * - msPer1K: least squares slope of p50 on N, times 1000: what every 1,000 more tasks add.
 * - flat: exponent below FLAT_EXPONENT (0.1: ten times the tasks cost at most 26 % more); an
 *   exponent of −0.1 or less is printed as "no growth" (a p50 that falls with size is noise or
 *   warm-up, not a property of the call).
 * With three scales the fit rests on three points: R² and the points are reported with it.
 */
import { formatMs } from './format.ts'
import type { ResultsDocument } from './schema.ts'

/** Below this exponent a call is reported as flat. */
export const FLAT_EXPONENT = 0.1

export interface ScalingPoint {
  /** tasks in the database */
  tasks: number
  p50: number
}

export interface ScalingFit {
  exponent: number
  /** ms per 1,000 tasks, from a linear fit of p50 on tasks */
  msPer1K: number
  /** R² of the log-log fit (1 when the points lie on a power law; NaN when p50 never varies) */
  r2: number
  flat: boolean
  points: ScalingPoint[]
}

/** The fit, or why there is none (fewer than two distinct sizes, a p50 that is not positive). */
export function fitScaling(points: readonly ScalingPoint[]): ScalingFit | { unavailable: string } {
  const sorted = [...points].sort((a, b) => a.tasks - b.tasks)
  if (sorted.some((p) => !(p.tasks > 0) || !(p.p50 > 0) || !Number.isFinite(p.p50))) {
    return { unavailable: `every point needs tasks > 0 and a positive p50 (got ${sorted.map((p) => `${p.tasks}: ${p.p50}`).join(', ')})` }
  }
  if (new Set(sorted.map((p) => p.tasks)).size < 2) return { unavailable: `measured at ${sorted.length === 0 ? 'no scale' : 'one size only'}: a scaling order needs two or more (BENCH_SQL_SCALES)` }
  const log = leastSquares(sorted.map((p) => [Math.log(p.tasks), Math.log(p.p50)]))
  const linear = leastSquares(sorted.map((p) => [p.tasks, p.p50]))
  return { exponent: log.slope, msPer1K: linear.slope * 1000, r2: log.r2, flat: log.slope < FLAT_EXPONENT, points: sorted }
}

function leastSquares(xy: readonly [number, number][]): { slope: number; r2: number } {
  const n = xy.length
  const mx = xy.reduce((a, [x]) => a + x, 0) / n
  const my = xy.reduce((a, [, y]) => a + y, 0) / n
  let sxx = 0
  let sxy = 0
  let syy = 0
  for (const [x, y] of xy) {
    sxx += (x - mx) ** 2
    sxy += (x - mx) * (y - my)
    syy += (y - my) ** 2
  }
  const slope = sxy / sxx
  return { slope, r2: syy === 0 ? Number.NaN : (sxy * sxy) / (sxx * syy) }
}

/** `O(N^0.98), +0.73 ms per 1K tasks (R² 1.00; 1K 1.23, 10K 7.70, 100K 75.0 ms)` or `flat (…)`. */
export function formatScaling(fit: ScalingFit | { unavailable: string }): string {
  if ('unavailable' in fit) return `no scaling order: ${fit.unavailable}`
  const order = `N^${fit.exponent.toFixed(2)}`
  const perK = `${fit.msPer1K >= 0 ? '+' : '−'}${formatMs(Math.abs(fit.msPer1K))} ms per 1K tasks`
  const points = fit.points.map((p) => `${sizeLabel(p.tasks)} ${formatMs(p.p50)}`).join(', ')
  const detail = `R² ${Number.isNaN(fit.r2) ? '—' : fit.r2.toFixed(2)}; p50 ${points} ms`
  if (fit.exponent <= -FLAT_EXPONENT) return `no growth (${order}, ${perK}; ${detail}): falls with size, noise or warm-up`
  return fit.flat ? `flat (${order}, ${perK}; ${detail})` : `O(${order}), ${perK} (${detail})`
}

/** 1000 → 1K, 100000 → 100K, 1500000 → 1.5M. */
export function sizeLabel(n: number): string {
  if (n >= 1_000_000) return `${Number((n / 1_000_000).toPrecision(3))}M`
  if (n >= 1_000) return `${Number((n / 1_000).toPrecision(3))}K`
  return String(n)
}

/**
 * The scaling order of every function a results file measured at several sizes: its entries
 * `<name> @<scale>` that carry `extra.datasetTasks` (the SQL bench's), grouped by name.
 */
export function scalingFromResults(doc: ResultsDocument): Map<string, ScalingFit | { unavailable: string }> {
  const byName = new Map<string, ScalingPoint[]>()
  for (const r of doc.results) {
    const tasks = r.extra?.datasetTasks
    const m = / @[^ ]+$/.exec(r.bench)
    if (typeof tasks !== 'number' || !m || r.extra?.historyTasks !== undefined) continue
    const name = r.bench.slice(0, m.index)
    byName.set(name, [...(byName.get(name) ?? []), { tasks, p50: r.p50 }])
  }
  return new Map([...byName].map(([name, points]) => [name, fitScaling(points)]))
}
