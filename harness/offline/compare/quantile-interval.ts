/**
 * Distribution-free confidence interval of a quantile: the number of samples below the true
 * q-quantile is Binomial(n, q), so by its normal approximation the interval runs between the
 * sample quantiles at q ∓ z·√(q(1 − q)/n). Used for the lower/upper bounds of exported values.
 * `n` is the number of samples taken; `sorted` may be the retained quantile points of them.
 */
import { percentile } from '../../results/percentiles.ts'
import { normalQuantile } from './normal.ts'

export interface QuantileInterval {
  lower: number
  upper: number
}

export function quantileInterval(sorted: readonly number[], q: number, n: number = sorted.length, confidence = 0.95): QuantileInterval {
  if (sorted.length === 0) throw new RangeError('quantileInterval of an empty sample set')
  const z = normalQuantile(1 - (1 - confidence) / 2)
  const halfWidth = z * Math.sqrt((q * (1 - q)) / Math.max(1, n))
  const clamp = (p: number) => Math.min(100, Math.max(0, p * 100))
  return { lower: percentile(sorted, clamp(q - halfWidth)), upper: percentile(sorted, clamp(q + halfWidth)) }
}
