/**
 * The statistics behind the comparison, checked against known values: the normal distribution,
 * Mann–Whitney U (reference p-values from SciPy's mannwhitneyu, asymptotic with continuity
 * correction, which uses the same tie-corrected variance), the seeded bootstrap, the
 * distribution-free quantile interval and the retained-sample reduction of the results file.
 */
import { describe, expect, test } from 'vitest'
import { bootstrapQuantileDifference } from '../harness/offline/compare/bootstrap.ts'
import { mannWhitneyU } from '../harness/offline/compare/mann-whitney.ts'
import { erfc, normalCdf, normalQuantile, twoSidedP } from '../harness/offline/compare/normal.ts'
import { quantileInterval } from '../harness/offline/compare/quantile-interval.ts'
import { seededRandom, seedFromText } from '../harness/offline/compare/seeded-random.ts'
import { lognormalSamples } from '../harness/offline/compare/simulate.ts'
import { MAX_RETAINED_SAMPLES, retainSamples } from '../harness/results/retained-samples.ts'
import { percentile } from '../harness/results/percentiles.ts'

describe('normal distribution', () => {
  test('erfc, Φ and its inverse match tabulated values', () => {
    expect(erfc(0)).toBeCloseTo(1, 7)
    expect(erfc(1)).toBeCloseTo(0.157299207, 6)
    expect(erfc(-1)).toBeCloseTo(1.842700793, 6)
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6)
    expect(normalCdf(-2.326348)).toBeCloseTo(0.01, 6)
    expect(twoSidedP(2.575829)).toBeCloseTo(0.01, 6)
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 4)
    expect(normalQuantile(0.005)).toBeCloseTo(-2.575829, 4)
    expect(() => normalQuantile(1)).toThrow(/strictly between 0 and 1/)
  })
})

describe('Mann–Whitney U', () => {
  test('no ties: U counts the pairs where the second sample is larger', () => {
    const r = mannWhitneyU([1, 2, 3], [4, 5, 6])
    expect(r.u).toBe(9)
    expect(r.probabilityOfSuperiority).toBe(1)
    expect(r.pValue).toBeCloseTo(0.0808556, 6) // SciPy
  })

  test('ties share their mean rank and shrink the variance', () => {
    const x = [1.1, 2.2, 2.2, 3.5, 4.0, 4.0, 4.0, 5.1, 6.3, 7.7, 8.0, 9.9]
    const y = [2.2, 4.0, 4.5, 5.1, 6.0, 7.7, 8.8, 9.1, 10.2, 11.0, 12.5]
    const r = mannWhitneyU(x, y)
    expect(r.u).toBe(97.5)
    expect(r.pValue).toBeCloseTo(0.0554282, 6) // SciPy

    const a = [3, 3, 3, 5, 5, 7, 9, 9, 10, 12, 12, 12, 12, 15, 18, 20, 21, 22, 25, 30]
    const b = [5, 7, 7, 9, 12, 13, 15, 15, 18, 19, 21, 24, 24, 27, 30, 31, 33, 35, 40, 41, 44]
    const s = mannWhitneyU(a, b)
    expect(s.u).toBe(313.5)
    expect(s.pValue).toBeCloseTo(0.00711077, 6) // SciPy
  })

  test('symmetric in its arguments, order-insensitive, and p = 1 when everything ties', () => {
    const x = [5, 1, 4, 2, 8, 7]
    const y = [9, 3, 6, 10, 11]
    const forward = mannWhitneyU(x, y)
    const backward = mannWhitneyU(y, x)
    expect(forward.u + backward.u).toBe(x.length * y.length)
    expect(forward.pValue).toBeCloseTo(backward.pValue, 12)
    expect(forward.z).toBeCloseTo(-backward.z, 12)
    expect(mannWhitneyU([...x].sort((a, b) => a - b), y)).toEqual(forward)
    expect(mannWhitneyU([2, 2, 2], [2, 2])).toMatchObject({ z: 0, pValue: 1, probabilityOfSuperiority: 0.5 })
    expect(() => mannWhitneyU([], [1])).toThrow(/samples on both sides/)
  })
})

describe('bootstrap CI of a quantile difference', () => {
  const random = seededRandom(11)
  const base = lognormalSamples(random, 800, 1, 0.3)
  const slower = lognormalSamples(random, 800, 1.3, 0.3)

  test('is reproducible for a seed, and another seed moves it only slightly', () => {
    const a = bootstrapQuantileDifference(base, slower, 0.95, { seed: 5 })
    expect(bootstrapQuantileDifference(base, slower, 0.95, { seed: 5 })).toEqual(a)
    const b = bootstrapQuantileDifference(base, slower, 0.95, { seed: 6 })
    expect(b).not.toEqual(a)
    expect(Math.abs(b.lower - a.lower)).toBeLessThan(0.1)
  })

  test('brackets the observed difference and excludes 0 for a clear shift', () => {
    const ci = bootstrapQuantileDifference(base, slower, 0.5, { resamples: 1000, seed: 1 })
    expect(ci.estimate).toBeCloseTo(percentile([...slower].sort((a, b) => a - b), 50) - percentile([...base].sort((a, b) => a - b), 50), 12)
    expect(ci.lower).toBeLessThanOrEqual(ci.estimate)
    expect(ci.upper).toBeGreaterThanOrEqual(ci.estimate)
    expect(ci.lower).toBeGreaterThan(0)
    // the true difference of medians, 0.3, lies inside
    expect(ci.lower).toBeLessThan(0.3)
    expect(ci.upper).toBeGreaterThan(0.3)
  })

  test('contains 0 for two draws of one distribution, and rejects bad options', () => {
    const again = lognormalSamples(seededRandom(12), 800, 1, 0.3)
    const ci = bootstrapQuantileDifference(base, again, 0.95, { seed: 2 })
    expect(ci.lower).toBeLessThan(0)
    expect(ci.upper).toBeGreaterThan(0)
    expect(() => bootstrapQuantileDifference(base, again, 1.5)).toThrow(/q=1.5/)
    expect(() => bootstrapQuantileDifference(base, again, 0.5, { resamples: 10 })).toThrow(/at least 100/)
  })

  test('seeds from text are stable and differ between names', () => {
    expect(seedFromText('event-propagation > notify')).toBe(seedFromText('event-propagation > notify'))
    expect(seedFromText('a')).not.toBe(seedFromText('b'))
    const r1 = seededRandom(42)
    const r2 = seededRandom(42)
    const draws = Array.from({ length: 5 }, () => r1())
    expect(draws).toEqual(Array.from({ length: 5 }, () => r2()))
    expect(draws.every((d) => d >= 0 && d < 1)).toBe(true)
  })
})

describe('quantile interval', () => {
  test('brackets the sample quantile and narrows with more samples', () => {
    const sorted = Array.from({ length: 1001 }, (_, i) => i / 1000) // uniform 0..1
    const ci = quantileInterval(sorted, 0.5)
    expect(ci.lower).toBeLessThan(0.5)
    expect(ci.upper).toBeGreaterThan(0.5)
    // ±1.96·√(0.25/1001) ≈ ±0.031
    expect(ci.upper - ci.lower).toBeCloseTo(0.062, 2)
    const fromMore = quantileInterval(sorted, 0.5, 100_000) // the same points standing for more samples
    expect(fromMore.upper - fromMore.lower).toBeLessThan(0.01)
  })
})

describe('retained samples', () => {
  test('keep every sample, sorted, up to the cap', () => {
    expect(retainSamples([3, 1, 2])).toEqual([1, 2, 3])
    expect(retainSamples([0.12345678912])).toEqual([0.123457]) // 1 ns resolution
  })

  test('above the cap keep evenly spaced quantiles, min and max included', () => {
    const samples = lognormalSamples(seededRandom(3), 20_000, 2, 0.5)
    const kept = retainSamples(samples)
    const sorted = [...samples].sort((a, b) => a - b)
    expect(kept).toHaveLength(MAX_RETAINED_SAMPLES)
    expect(kept[0]).toBeCloseTo(sorted[0]!, 6)
    expect(kept.at(-1)).toBeCloseTo(sorted.at(-1)!, 6)
    // within 0.1 %: the points are 1/4999 apart in probability
    for (const p of [50, 95, 99]) expect(Math.abs(percentile(kept, p) / percentile(sorted, p) - 1)).toBeLessThan(1e-3)
    expect(kept.every((v, i) => i === 0 || v >= kept[i - 1]!)).toBe(true)
    expect(() => retainSamples(samples, 1)).toThrow(/at least 2/)
  })
})
