/** The power experiment's bookkeeping: the run order and how trials are drawn from real pairs. */
import { describe, expect, test } from 'vitest'
import { combinations } from '../harness/offline/compare/power.ts'
import { powerPlan, sizingP50, stepDelayFor } from '../harness/offline/compare/power-plan.ts'
import { seededRandom } from '../harness/offline/compare/seeded-random.ts'

describe('bench:power', () => {
  test('each cycle runs one adjacent base/head pair per condition, order alternating, conditions rotating', () => {
    const plan = powerPlan(2, [0.2, 0.4])
    expect(plan).toHaveLength(12)
    const pairs = Array.from({ length: 6 }, (_, i) => [plan[2 * i]!, plan[2 * i + 1]!])
    for (const [a, b] of pairs) expect([a!.effect === b!.effect, a!.cycle === b!.cycle, a!.side !== b!.side]).toEqual([true, true, true])
    expect(pairs.map(([a]) => a!.side)).toEqual(['base', 'head', 'base', 'head', 'base', 'head'])
    expect(pairs.slice(0, 3).map(([a]) => a!.effect)).toEqual([0, 0.2, 0.4])
    expect(pairs.slice(3).map(([a]) => a!.effect)).toEqual([0.2, 0.4, 0])
    expect(stepDelayFor(0.2, 30, 3)).toBe(2)
    expect(stepDelayFor(0, 30, 3)).toBe(0)
  })

  test('a slowdown is sized by the median of the recent identical-code runs, so one lucky run does not resize it', () => {
    expect(sizingP50([20])).toBe(20)
    expect(sizingP50([20, 40])).toBe(30)
    // one run at 40 ms among runs near 20: the median stays near 20 (the latest run alone would say 40)
    expect(sizingP50([19, 21, 20, 22, 18, 40])).toBe(20.5)
    // only the last 7 count: an early slow phase is forgotten
    expect(sizingP50([90, 90, 90, 20, 21, 22, 19, 20, 21, 22])).toBe(21)
    expect(() => sizingP50([])).toThrow(/no identical-code run/)
  })

  test('trials: every combination of R pairs when few, else a seeded sample of distinct ones', () => {
    const all = [...combinations(5, 3, 100, seededRandom(1))]
    expect(all).toHaveLength(10)
    expect(new Set(all.map((c) => c.join(','))).size).toBe(10)
    const sampled = [...combinations(30, 3, 50, seededRandom(1))]
    expect(sampled).toHaveLength(50)
    expect(new Set(sampled.map((c) => c.join(','))).size).toBe(50)
    expect(sampled.every((c) => c.length === 3 && c.every((i) => i >= 0 && i < 30) && c[0]! < c[1]! && c[1]! < c[2]!)).toBe(true)
    expect([...combinations(2, 3, 10, seededRandom(1))]).toEqual([])
  })
})
