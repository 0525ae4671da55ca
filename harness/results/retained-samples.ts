/**
 * The samples a results file keeps per measurement, so a later run can be compared with it by a
 * significance test (harness/offline/compare/). Kept sorted ascending. Up to MAX_RETAINED_SAMPLES samples
 * are kept as they are; a larger set is reduced to MAX_RETAINED_SAMPLES evenly spaced quantile
 * points (the i-th point is the percentile 100·i/(cap − 1) by the same interpolation as the
 * summary, so the minimum and the maximum are always kept). Either way the points describe the
 * same distribution; `n` in the entry stays the number of samples actually taken, and
 * `samples.length < n` tells that the points are quantiles. Values are rounded to 1 ns
 * (0.000001 ms) to keep files small; no latency here is that precise.
 */
import { percentile } from './percentiles.ts'

export const MAX_RETAINED_SAMPLES = 5_000

export function retainSamples(samples: readonly number[], cap: number = MAX_RETAINED_SAMPLES): number[] {
  if (!Number.isInteger(cap) || cap < 2) throw new RangeError(`retainSamples: cap=${cap} must be a whole number of at least 2`)
  const sorted = [...samples].sort((a, b) => a - b)
  const points = sorted.length <= cap ? sorted : Array.from({ length: cap }, (_, i) => percentile(sorted, (100 * i) / (cap - 1)))
  return points.map(roundToNanosecond)
}

const roundToNanosecond = (ms: number): number => Math.round(ms * 1e6) / 1e6
