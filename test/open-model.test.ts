import { describe, expect, test } from 'vitest'
import { achievedThroughput, correctedLatencies, runOpenModel } from '../harness/bench/load/open-model.ts'

/** A fake clock: sleeping advances time exactly, so the schedule is checked without real waits. */
function fakeClock() {
  let t = 1000
  return { now: () => t, sleep: async (ms: number) => void (t += ms), advance: (ms: number) => (t += ms) }
}

/** runOpenModel on a fresh fake clock; `start` returns when arrival `i`'s task completes (or throws). */
function runOnFakeClock(ratePerSecond: number, durationMs: number, start: (i: number, clock: ReturnType<typeof fakeClock>) => number) {
  const clock = fakeClock()
  return runOpenModel({ ratePerSecond, durationMs, now: clock.now, sleep: clock.sleep, start: async (i) => start(i, clock) })
}

describe('runOpenModel', () => {
  test('arrivals follow the rate, independent of completions', async () => {
    const result = await runOnFakeClock(50, 1000, (_, clock) => clock.now() + 5)
    expect(result.arrivals).toHaveLength(50)
    const gaps = result.arrivals.slice(1).map((a, i) => a.intendedAt - result.arrivals[i]!.intendedAt)
    expect(new Set(gaps.map((g) => g.toFixed(6)))).toEqual(new Set(['20.000000']))
    expect(correctedLatencies(result).every((l) => l === 5)).toBe(true)
  })

  test('a stall is counted from the intended start (coordinated omission corrected)', async () => {
    // arrival 2 blocks the generator for 300 ms (a stall); every task takes 1 ms once sent
    const result = await runOnFakeClock(10, 500, (i, clock) => {
      if (i === 2) clock.advance(300)
      return clock.now() + 1
    })
    const latencies = correctedLatencies(result)
    expect(result.arrivals).toHaveLength(5)
    // arrivals 3 and 4 were due at +300 and +400 but went out at +500: their waiting counts
    expect(latencies[3]).toBeCloseTo(201, 6)
    expect(latencies[4]).toBeCloseTo(101, 6)
  })

  test('failures are kept, not counted as latencies', async () => {
    const result = await runOnFakeClock(20, 200, (i, clock) => {
      if (i % 2 === 0) throw new Error(`task ${i} failed`)
      return clock.now() + 2
    })
    expect(result.arrivals.filter((a) => a.error)).toHaveLength(2)
    expect(correctedLatencies(result)).toHaveLength(2)
    expect(achievedThroughput(result)).toBeGreaterThan(0)
  })

  test('stragglers are abandoned after the drain timeout, bounded in time', async () => {
    const result = await runOpenModel({ ratePerSecond: 100, durationMs: 30, drainTimeoutMs: 50, start: () => new Promise<number>(() => {}) })
    expect(result.abandoned).toBe(3)
  })
})
