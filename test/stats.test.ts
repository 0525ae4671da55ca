import { describe, expect, test } from 'vitest'
import { MIN_SAMPLES_FOR_P99, percentile, summarize } from '../harness/results/percentiles.ts'

const oneToHundred = Array.from({ length: 100 }, (_, i) => i + 1)

describe('percentile (linear interpolation between closest ranks)', () => {
  test('1..100: rank p/100·(n−1), interpolated', () => {
    expect(percentile(oneToHundred, 0)).toBe(1)
    expect(percentile(oneToHundred, 50)).toBeCloseTo(50.5, 10)
    expect(percentile(oneToHundred, 75)).toBeCloseTo(75.25, 10)
    expect(percentile(oneToHundred, 90)).toBeCloseTo(90.1, 10)
    expect(percentile(oneToHundred, 95)).toBeCloseTo(95.05, 10)
    expect(percentile(oneToHundred, 99)).toBeCloseTo(99.01, 10)
    expect(percentile(oneToHundred, 99.9)).toBeCloseTo(99.901, 10)
    expect(percentile(oneToHundred, 100)).toBe(100)
  })

  test('exact ranks need no interpolation', () => {
    expect(percentile([10, 20, 30, 40, 50], 25)).toBe(20)
    expect(percentile([10, 20, 30, 40, 50], 50)).toBe(30)
  })

  test('rejects an empty array and p outside 0..100', () => {
    expect(() => percentile([], 50)).toThrow(/empty/)
    expect(() => percentile([1], -1)).toThrow(/out of range/)
    expect(() => percentile([1], 101)).toThrow(/out of range/)
    expect(() => percentile([1], Number.NaN)).toThrow(/out of range/)
  })
})

describe('summarize', () => {
  test('1..100', () => {
    const s = summarize(oneToHundred)
    expect(s).toMatchObject({ n: 100, min: 1, max: 100, mean: 50.5, p99Meaningful: true })
    expect(s.sd).toBeCloseTo(29.011491975882, 9) // sample standard deviation of 1..100
    expect(s.p50).toBeCloseTo(50.5, 10)
    expect(s.p75).toBeCloseTo(75.25, 10)
    expect(s.p90).toBeCloseTo(90.1, 10)
    expect(s.p95).toBeCloseTo(95.05, 10)
    expect(s.p99).toBeCloseTo(99.01, 10)
    expect(s.p999).toBeCloseTo(99.901, 10)
  })

  test('a single value is every statistic; sd is 0', () => {
    expect(summarize([7])).toEqual({
      n: 1, min: 7, max: 7, mean: 7, sd: 0, p50: 7, p75: 7, p90: 7, p95: 7, p99: 7, p999: 7, p99Meaningful: false,
    })
  })

  test('two values interpolate between them', () => {
    const s = summarize([20, 10])
    expect(s).toMatchObject({ n: 2, min: 10, max: 20, mean: 15, p50: 15, p75: 17.5 })
    expect(s.p95).toBeCloseTo(19.5, 10)
    expect(s.p99).toBeCloseTo(19.9, 10)
    expect(s.sd).toBeCloseTo(Math.SQRT2 * 5, 10)
  })

  test('unsorted input gives the same summary as sorted input and is left unmodified', () => {
    const shuffled = [5, 1, 4, 2, 3, 9, 7, 8, 6, 10]
    const before = [...shuffled]
    expect(summarize(shuffled)).toEqual(summarize([...shuffled].sort((a, b) => a - b)))
    expect(summarize(shuffled).p90).toBeCloseTo(9.1, 10)
    expect(shuffled).toEqual(before)
  })

  test('numbers sort numerically, not as text', () => {
    expect(summarize([100, 9, 20])).toMatchObject({ min: 9, max: 100, p50: 20 })
  })

  test('p99 is flagged as not meaningful below 100 samples', () => {
    expect(MIN_SAMPLES_FOR_P99).toBe(100)
    expect(summarize(oneToHundred.slice(0, 99)).p99Meaningful).toBe(false)
    expect(summarize(oneToHundred).p99Meaningful).toBe(true)
  })

  test('empty input and non-finite samples are clear errors', () => {
    expect(() => summarize([])).toThrow(/empty sample set/)
    expect(() => summarize([1, Number.NaN])).toThrow(/sample #1 is NaN/)
    expect(() => summarize([1, Infinity])).toThrow(/sample #1 is Infinity/)
  })
})
