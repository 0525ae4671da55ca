/**
 * Percentile bootstrap confidence interval of the difference of a quantile between two samples
 * (current − baseline), e.g. of p95, where no rank test applies. Each resample draws n values with
 * replacement from each side; the interval is the (α/2, 1 − α/2) percentiles of the resampled
 * differences. Deterministic: the generator is seeded.
 *
 * A resample of a sorted sample is represented by how often each index was drawn (a multinomial
 * count), so its quantile is found by walking the counts — O(n) per resample instead of a sort.
 */
import { percentile } from '../../results/percentiles.ts'
import { seededRandom, type Random } from './seeded-random.ts'
import { ascending } from './sorted.ts'

export interface BootstrapOptions {
  /** number of resamples (default 2000) */
  resamples?: number
  /** two-sided confidence level (default 0.99) */
  confidence?: number
  seed?: number
}

export interface QuantileDifference {
  /** quantile in 0..1 */
  q: number
  /** the difference of the observed quantiles, current − baseline */
  estimate: number
  lower: number
  upper: number
  confidence: number
  resamples: number
}

export const DEFAULT_RESAMPLES = 2_000

export function bootstrapQuantileDifference(
  baseline: readonly number[],
  current: readonly number[],
  q: number,
  options: BootstrapOptions = {},
): QuantileDifference {
  const resamples = options.resamples ?? DEFAULT_RESAMPLES
  const confidence = options.confidence ?? 0.99
  if (!(q >= 0 && q <= 1)) throw new RangeError(`bootstrap quantile q=${q} must be within 0..1`)
  if (!Number.isInteger(resamples) || resamples < 100) throw new RangeError(`bootstrap resamples=${resamples} must be a whole number of at least 100`)
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`bootstrap confidence=${confidence} must be strictly between 0 and 1`)
  if (baseline.length === 0 || current.length === 0) throw new RangeError('bootstrap needs samples on both sides')
  const xs = ascending(baseline)
  const ys = ascending(current)
  const random = seededRandom(options.seed ?? 1)
  const countsX = new Uint32Array(xs.length)
  const countsY = new Uint32Array(ys.length)
  const differences = new Float64Array(resamples)
  for (let b = 0; b < resamples; b++) {
    differences[b] = resampledQuantile(ys, q, countsY, random) - resampledQuantile(xs, q, countsX, random)
  }
  differences.sort()
  const alpha = 1 - confidence
  const lowerIndex = Math.max(0, Math.floor((resamples * alpha) / 2))
  const upperIndex = Math.min(resamples - 1, Math.ceil(resamples * (1 - alpha / 2)) - 1)
  return {
    q,
    estimate: percentile(ys, q * 100) - percentile(xs, q * 100),
    lower: differences[lowerIndex]!,
    upper: differences[upperIndex]!,
    confidence,
    resamples,
  }
}

/** The q-quantile (same interpolation as the summary) of one resample of `sorted`. */
function resampledQuantile(sorted: readonly number[], q: number, counts: Uint32Array, random: Random): number {
  const n = sorted.length
  counts.fill(0)
  for (let k = 0; k < n; k++) counts[Math.floor(random() * n)]!++
  const rank = q * (n - 1)
  const lowRank = Math.floor(rank)
  const highRank = Math.ceil(rank)
  // the values at 0-based order positions lowRank and highRank of the resample
  let seen = 0
  let low = NaN
  for (let index = 0; index < n; index++) {
    seen += counts[index]!
    if (Number.isNaN(low) && seen > lowRank) low = sorted[index]!
    if (seen > highRank) {
      const high = sorted[index]!
      return low + (high - low) * (rank - lowRank)
    }
  }
  return sorted[n - 1]!
}
