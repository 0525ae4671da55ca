/** The scaling order (harness/results/scaling.ts) and its budgets, on synthetic points. */
import { describe, expect, test } from 'vitest'
import { FLAT_EXPONENT, fitScaling, formatScaling, scalingFromResults, type ScalingFit } from '../harness/results/scaling.ts'
import { parseBudgetExpression } from '../harness/results/budgets/parse.ts'
import { checkBudgets, checkFinding } from '../harness/results/budgets/evaluate.ts'
import { parseBudgetFile } from '../harness/results/budgets/load.ts'
import { summarize } from '../harness/results/percentiles.ts'
import type { ResultsDocument } from '../harness/results/schema.ts'

const fit = (points: [number, number][]) => fitScaling(points.map(([tasks, p50]) => ({ tasks, p50 }))) as ScalingFit

describe('fitScaling', () => {
  test('a linear cost: exponent 1, the slope per 1K tasks, R² 1', () => {
    const f = fit([[1_000, 0.73], [10_000, 7.3], [100_000, 73]])
    expect(f.exponent).toBeCloseTo(1, 6)
    expect(f.msPer1K).toBeCloseTo(0.73, 6)
    expect(f.r2).toBeCloseTo(1, 6)
    expect(f.flat).toBe(false)
    expect(formatScaling(f)).toBe('O(N^1.00), +0.730 ms per 1K tasks (R² 1.00; p50 1K 0.730, 10K 7.30, 100K 73.0 ms)')
  })

  test("the issue's tasker-core figures: near O(N)", () => {
    const f = fit([[1_000, 1.23], [10_000, 7.7], [100_000, 75]])
    expect(f.exponent).toBeGreaterThan(0.85)
    expect(f.exponent).toBeLessThan(0.95)
    expect(f.msPer1K).toBeCloseTo(0.747, 2)
  })

  test('a constant cost with noise is flat, below the threshold', () => {
    const f = fit([[100_000, 0.31], [1_000, 0.3], [10_000, 0.33]])
    expect(f.exponent).toBeLessThan(FLAT_EXPONENT)
    expect(f.flat).toBe(true)
    expect(f.points.map((p) => p.tasks)).toEqual([1_000, 10_000, 100_000]) // sorted
    expect(formatScaling(f)).toBe('flat (N^0.01, −0.00003 ms per 1K tasks; R² 0.11; p50 1K 0.300, 10K 0.330, 100K 0.310 ms)')
  })

  test('a p50 that falls with size is no growth, and flat for a budget', () => {
    const f = fit([[1_000, 7.3], [10_000, 1.29]])
    expect(f.flat).toBe(true)
    expect(formatScaling(f)).toMatch(/^no growth \(N\^-0\.75, −0\.668 ms per 1K tasks; .*\): falls with size, noise or warm-up$/)
  })

  test('a square root: exponent 0.5, not flat', () => {
    const f = fit([[1_000, 1], [4_000, 2], [16_000, 4]])
    expect(f.exponent).toBeCloseTo(0.5, 6)
    expect(f.flat).toBe(false)
  })

  test('no fit from one size, or from a p50 that is not positive: says why', () => {
    expect(fitScaling([{ tasks: 1_000, p50: 1 }])).toEqual({ unavailable: expect.stringMatching(/one size only.*BENCH_SQL_SCALES/) })
    expect(fitScaling([{ tasks: 1_000, p50: 1 }, { tasks: 10_000, p50: 0 }])).toEqual({ unavailable: expect.stringMatching(/positive p50/) })
    expect(formatScaling(fitScaling([]))).toMatch(/^no scaling order: measured at no scale/)
  })
})

test('scalingFromResults: one fit per function over its `@scale` entries; other entries and the history series are left out', () => {
  const entry = (bench: string, p50: number, extra: Record<string, unknown>) => ({ bench, p50, extra })
  const doc = {
    results: [
      entry('get_next_ready_tasks(10) @1K', 1, { datasetTasks: 1_000 }),
      entry('get_next_ready_tasks(10) @10K', 10, { datasetTasks: 10_000 }),
      entry('get_task_execution_context @1K', 0.2, { datasetTasks: 1_000 }),
      entry('get_task_execution_context @10K', 0.2, { datasetTasks: 10_000 }),
      entry('get_next_ready_tasks(10) @live 1K + history 10K', 1, { datasetTasks: 11_000, historyTasks: 10_000 }),
      entry('small payload', 1, {}),
    ],
  } as unknown as ResultsDocument
  const fits = scalingFromResults(doc)
  expect([...fits.keys()]).toEqual(['get_next_ready_tasks(10)', 'get_task_execution_context'])
  expect((fits.get('get_next_ready_tasks(10)') as ScalingFit).exponent).toBeCloseTo(1, 6)
  expect((fits.get('get_task_execution_context') as ScalingFit).flat).toBe(true)
})

describe('finding budgets', () => {
  test('scaling: exponent<0.2, scaling: ms_per_1k<=0.5 and probe: pass parse; a latency check skips them', () => {
    const e = parseBudgetExpression('scaling: exponent<0.2', 'x')
    expect(e).toMatchObject({ finding: 'scaling exponent', operator: '<', limit: 0.2, target: false })
    expect(parseBudgetExpression('target scaling: ms_per_1k<=0.5', 'x')).toMatchObject({ finding: 'scaling ms_per_1k', operator: '<=', limit: 0.5, target: true })
    const p = parseBudgetExpression('probe: pass', 'x')
    expect(p).toMatchObject({ finding: 'probe', operator: '==', limit: 1 })
    expect(checkFinding(e, 0.98)).toMatchObject({ passed: false, observed: 0.98 })
    expect(checkFinding(e, 0.03).passed).toBe(true)
    expect(checkFinding(p, 0).passed).toBe(false)
    expect(checkBudgets(summarize([1, 2, 3]), [e, p])).toEqual([])
  })

  test('a wrong finding says what is expected; YAML one-key mappings are read as expressions', () => {
    expect(() => parseBudgetExpression('scaling: slope<1', 'f > b')).toThrow(/budget f > b: cannot parse "scaling: slope<1" \(expected e\.g\. scaling: exponent<0\.2/)
    expect(() => parseBudgetExpression('probe: fail', 'f > b')).toThrow(/a probe's budget is probe: pass/)
    const entries = parseBudgetFile('scaling:\n  get_next_ready_tasks(10):\n    - scaling: exponent<0.2\nprobes:\n  claim exclusivity:\n    - probe: pass\n', 'budgets.yaml')
    expect(entries.get('scaling')!.get('get_next_ready_tasks(10)')![0]).toMatchObject({ finding: 'scaling exponent', limit: 0.2 })
    expect(entries.get('probes')!.get('claim exclusivity')![0]).toMatchObject({ finding: 'probe' })
  })
})
