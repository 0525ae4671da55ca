/**
 * Drift-normalized figures: an efficiency ratio (E2E p50 / floor p50, harness/results/efficiency.ts)
 * divides the system's latency by the latency of the floor, sampled interleaved with it in the same
 * run on the same server. A machine that is 30 % slower for a minute slows both, so the ratio keeps
 * its value while the raw milliseconds do not: measured here, 12 runs of identical code spread
 * 9 % in raw E2E p50 and 3 % in E2E/floor; with a busy neighbour on one core, raw p50 rose 35–45 %
 * and the ratio 3–5 % (docs/regression-checks.md: comparing two single runs). That is what lets two single runs made
 * at different times be compared at a margin that still catches a real slowdown.
 *
 * A ratio entry keeps no samples of its own; its uncertainty comes from its two benches of the same
 * run: se(ln a/b)² = se(ln a)² + se(ln b)², each from its quantile's interval (run-statistic.ts).
 * The two are sampled in turn, so they share the run's phase; treating them as independent
 * overstates the uncertainty a little, which errs toward "unchanged".
 */
import type { ResultEntry } from '../../results/schema.ts'
import { baselineName, interleavedE2eName, type EfficiencyExtra } from '../../results/efficiency.ts'
import { benchId } from './bench-id.ts'
import { runStatistic, type RunMetric, type RunStatistic } from './run-statistic.ts'

/** An efficiency ratio: compared as a drift-normalized figure. */
export function isNormalized(entry: Pick<ResultEntry, 'extra'>): boolean {
  return entry.extra?.unit === 'ratio'
}

/** What the figure divides by: "floor" or "peer" (from its extra), "baseline" when it does not say. */
export function normalizedBaseline(entry: Pick<ResultEntry, 'extra'>): string {
  const b = (entry.extra as Partial<EfficiencyExtra> | undefined)?.efficiency?.baseline
  return b === 'floor' || b === 'peer' ? b : 'baseline'
}

/** The ids of the two benches a ratio entry divides, or undefined when its extra does not say. */
export function normalizedComponents(entry: ResultEntry): { e2e: string; base: string } | undefined {
  const e = (entry.extra as Partial<EfficiencyExtra> | undefined)?.efficiency
  if (!e || typeof e.shape !== 'string' || (e.baseline !== 'floor' && e.baseline !== 'peer')) return undefined
  return {
    e2e: benchId({ file: entry.file, bench: interleavedE2eName(e.shape) }),
    base: benchId({ file: entry.file, bench: baselineName(e.shape, e.baseline) }),
  }
}

/**
 * The ratio's metric and the standard error of its logarithm, from its components in the same run
 * (`run`: that run's entries by id). Without both components with samples the SE is infinite and the
 * figure cannot be judged.
 */
export function normalizedStatistic(entry: ResultEntry, run: ReadonlyMap<string, ResultEntry>, metric: RunMetric): RunStatistic {
  const ids = normalizedComponents(entry)
  const e2e = ids && run.get(ids.e2e)
  const base = ids && run.get(ids.base)
  if (!e2e || !base) return { value: entry[metric], logSe: Infinity }
  const a = runStatistic(e2e, metric)
  const b = runStatistic(base, metric)
  return { value: entry[metric], logSe: Math.sqrt(a.logSe ** 2 + b.logSe ** 2) }
}

/** Why a ratio entry cannot be compared with this run's entries, or undefined when it can. */
export function normalizedProblem(entry: ResultEntry, run: ReadonlyMap<string, ResultEntry>, side: string): string | undefined {
  const ids = normalizedComponents(entry)
  if (!ids) return `${side}: the ratio does not name its benches (written by an older version)`
  for (const id of [ids.e2e, ids.base]) {
    const component = run.get(id)
    if (!component) return `${side}: its bench "${id}" is missing`
    if (!component.samples) return `${side}: its bench "${id}" kept no samples`
  }
  return undefined
}
