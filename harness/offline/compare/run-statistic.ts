/**
 * A run's statistic and its sampling uncertainty: the metric (p50, p95, p99) of one run and the
 * standard error of its logarithm, from the distribution-free interval of the quantile
 * (quantile-interval.ts): se ≈ (ln upper − ln lower) / (2 · 1.96). The log scale because a run that
 * is slower is slower by a factor, and the ratio of two runs is what a verdict is about.
 *
 * This is the uncertainty WITHIN a run. It says nothing about how far two runs of the same code land
 * apart (the machine's phase): that is what the rounds of an A/B run estimate, and what the margins
 * (calibrated, or wide defaults) absorb when only two single runs are compared.
 */
import type { ResultEntry } from '../../results/schema.ts'
import { quantileInterval } from './quantile-interval.ts'

export type RunMetric = 'p50' | 'p95' | 'p99'

export const METRIC_QUANTILE: Record<RunMetric, number> = { p50: 0.5, p95: 0.95, p99: 0.99 }

const Z95 = 1.959963984540054

export interface RunStatistic {
  value: number
  /** standard error of ln(value); Infinity when the run kept no samples or a bound is ≤ 0 */
  logSe: number
}

export function runStatistic(entry: ResultEntry, metric: RunMetric): RunStatistic {
  const value = entry[metric]
  const samples = entry.samples
  if (!samples || samples.length === 0) return { value, logSe: Infinity }
  const { lower, upper } = quantileInterval(samples, METRIC_QUANTILE[metric], entry.n, 0.95)
  if (!(lower > 0 && upper > 0)) return { value, logSe: Infinity }
  return { value, logSe: (Math.log(upper) - Math.log(lower)) / (2 * Z95) }
}
