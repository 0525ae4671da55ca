/**
 * Latency statistics from retained samples. tinybench's Statistics has no p90/p95, and the
 * measurements that are not Vitest benches (trace phases, load-test latencies) have no Statistics
 * at all, so every figure the suite reports or checks against a budget comes from here.
 */

export interface LatencySummary {
  /** number of samples */
  n: number
  min: number
  max: number
  mean: number
  /** sample standard deviation (n − 1 in the denominator; 0 for a single sample) */
  sd: number
  p50: number
  p75: number
  p90: number
  p95: number
  p99: number
  p999: number
  /**
   * false when n < 100: with fewer samples p99 is just the largest sample or an interpolation
   * towards it, which says nothing about the tail. Reports print a note instead of trusting it.
   */
  p99Meaningful: boolean
}

/** Below this sample count p99 is reported but flagged as not meaningful. */
export const MIN_SAMPLES_FOR_P99 = 100

/**
 * The p-th percentile (p in 0..100) of samples sorted ascending, by linear interpolation between
 * the closest ranks: the value sits at fractional rank r = p/100 · (n − 1) (0-based), and between
 * sorted[floor(r)] and sorted[ceil(r)] it is interpolated linearly. p = 0 gives the minimum,
 * p = 100 the maximum, p = 50 the usual median. This is the "inclusive" definition (Excel's
 * PERCENTILE.INC, numpy's default "linear"), so results can be cross-checked with either.
 *
 * The caller guarantees the order (summarize() sorts a copy); this function does not re-check it
 * because it runs once per percentile on arrays of up to millions of samples.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of an empty sample set: record at least one sample')
  if (!Number.isFinite(p) || p < 0 || p > 100) throw new RangeError(`percentile p=${p} is out of range (expected 0..100)`)
  const rank = (p / 100) * (sorted.length - 1)
  const lower = Math.floor(rank)
  const upper = Math.ceil(rank)
  const low = sorted[lower]!
  if (lower === upper) return low
  return low + (sorted[upper]! - low) * (rank - lower)
}

/** Summary of unsorted (or sorted) samples in milliseconds; the input is not modified. */
export function summarize(samples: readonly number[]): LatencySummary {
  if (samples.length === 0) {
    throw new RangeError('cannot summarize an empty sample set: the measurement recorded no samples (did the bench run?)')
  }
  const bad = samples.findIndex((s) => typeof s !== 'number' || !Number.isFinite(s))
  if (bad >= 0) throw new RangeError(`sample #${bad} is ${String(samples[bad])}, expected a finite number of milliseconds`)

  const sorted = [...samples].sort((a, b) => a - b)
  const n = sorted.length
  let sum = 0
  for (const s of sorted) sum += s
  const mean = sum / n
  let squares = 0
  for (const s of sorted) squares += (s - mean) ** 2
  return {
    n,
    min: sorted[0]!,
    max: sorted[n - 1]!,
    mean,
    sd: n > 1 ? Math.sqrt(squares / (n - 1)) : 0,
    p50: percentile(sorted, 50),
    p75: percentile(sorted, 75),
    p90: percentile(sorted, 90),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    p99Meaningful: n >= MIN_SAMPLES_FOR_P99,
  }
}
