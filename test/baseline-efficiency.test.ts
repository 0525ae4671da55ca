/**
 * Efficiency figures (harness/results/efficiency.ts): ratios of the E2E's and a baseline's
 * summaries, recorded as measurements that the budget grammar checks unchanged
 * (`efficiency linear e2e/floor: p(50)<4`), the table printed at the end of the baselines bench
 * and in the markdown summary; and the interleaving of the samples (harness/bench/baselines/interleave.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { TaskMeta } from 'vitest'
import { afterAll, describe, expect, test } from 'vitest'
import { checkTestResults } from '../harness/results/budgets/check-test.ts'
import { loadBudgets, REFERENCE_BUDGETS } from '../harness/results/budgets/load.ts'
import { summarize } from '../harness/results/percentiles.ts'
import { taskerMeta } from '../harness/results/meta.ts'
import { lognormalSamples, simulatedDocument } from '../harness/offline/compare/simulate.ts'
import { seededRandom } from '../harness/offline/compare/seeded-random.ts'
import { renderMarkdown } from '../harness/offline/report/markdown.ts'
import { compareRuns } from '../harness/offline/compare/compare-runs.ts'
import { efficiencyName, efficiencyRows, efficiencyTable, ratioSummary } from '../harness/results/efficiency.ts'
import { recordEfficiency } from '../harness/bench/baselines/record-efficiency.ts'
import { balancedOrders, interleave } from '../harness/bench/baselines/interleave.ts'

const root = mkdtempSync(path.join(os.tmpdir(), 'tasker-bench-efficiency-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const E2E = [20, 22, 24, 26, 28, 30, 32, 34, 36, 100]
const FLOOR = [4, 4.5, 5, 5.5, 6, 6.5, 7, 7.5, 8, 10]
const PEER = [8, 9, 10, 11, 12, 13, 14, 15, 16, 20]

function finishedTest() {
  const task = { meta: {} as TaskMeta, benchmarks: [], file: { name: path.join(root, 'benchmarks', 'baselines.bench.ts') } }
  recordEfficiency(task, 'linear', E2E, { floor: FLOOR, peer: PEER })
  return task
}

describe('efficiency figures', () => {
  test('every field is the E2E figure divided by the baseline figure', () => {
    const e2e = summarize(E2E)
    const floor = summarize(FLOOR)
    const ratio = ratioSummary(e2e, floor)
    expect(ratio.p50).toBeCloseTo(e2e.p50 / floor.p50, 12)
    expect(ratio.p99).toBeCloseTo(e2e.p99 / floor.p99, 12)
    expect(ratio.mean).toBeCloseTo(e2e.mean / floor.mean, 12)
    expect(ratio.n).toBe(10)
    expect(ratio.p99Meaningful).toBe(false)
    expect(() => ratioSummary(e2e, { ...floor, p50: 0 })).toThrow(/baseline's p50 is 0/)
  })

  test('recorded as measurements named efficiency <shape> e2e/<baseline>, and budgets read them like any figure', () => {
    const task = finishedTest()
    const names = taskerMeta(task).measurements.map((m) => m.name)
    expect(names).toEqual([efficiencyName('linear', 'floor'), efficiencyName('linear', 'peer')])
    const budgetFile = path.join(root, 'budgets.yaml')
    // p50: 29 / 6.25 = 4.64 against the floor, 29 / 12.5 = 2.32 against the peer
    writeFileSync(budgetFile, `baselines:\n  efficiency linear e2e/floor:\n    - p(50)<4\n  efficiency linear e2e/peer:\n    - p(50)<4\n`)
    const book = loadBudgets({ root, BENCH_BUDGETS_FILE: 'budgets.yaml', BENCH_BUDGETS: undefined, BENCH_BUDGET_SCALE: undefined, BENCH_PROFILE: 'full' })
    const { lines, violations } = checkTestResults(task, () => book)
    expect(violations).toHaveLength(1)
    expect(violations[0]).toMatch(/efficiency linear e2e\/floor/)
    expect(violations[0]).toMatch(/4\.6/)
    expect(lines.join('\n')).toMatch(/efficiency linear e2e\/peer: n=10 p50=2\.32 .*× \(ratio\)/)
  })

  test('BENCH_BUDGETS overrides address them as baselines/efficiency <shape> e2e/<baseline>', () => {
    writeFileSync(path.join(root, 'empty.yaml'), `{}\n`)
    const book = loadBudgets({ root, BENCH_BUDGETS_FILE: 'empty.yaml', BENCH_BUDGETS: 'baselines/efficiency linear e2e/peer=p(50)<2', BENCH_BUDGET_SCALE: undefined, BENCH_PROFILE: 'full' })
    const { violations } = checkTestResults(finishedTest(), () => book)
    expect(violations).toHaveLength(1)
    expect(violations[0]).toMatch(/efficiency linear e2e\/peer/)
  })

  test("the reference orchestrator's overlay budgets E2E ÷ floor and sets issue 13's targets on them (targets never fail a run)", () => {
    const book = loadBudgets(
      { root: process.cwd(), BENCH_BUDGETS_FILE: 'fixtures/budgets.yaml', BENCH_BUDGETS: undefined, BENCH_BUDGET_SCALE: undefined, BENCH_PROFILE: 'full' },
      { overlays: [REFERENCE_BUDGETS] },
    )
    expect(book.for('baselines', efficiencyName('linear', 'floor')).map((b) => b.text)).toEqual(['p(50)<5', 'target p(50)<3'])
    expect(book.for('baselines', efficiencyName('linear', 'peer')).map((b) => b.text)).toEqual(['target p(50)<2'])
    // the fixture's E2E ÷ floor p50 is 4.64: within the budget, above the target
    expect(checkTestResults(finishedTest(), () => book).violations).toEqual([])
  })

  test('the table: per shape the three latencies and both ratios, p50 and p99', () => {
    const rows = efficiencyRows(taskerMeta(finishedTest()).measurements)
    expect(rows).toHaveLength(1)
    const table = efficiencyTable(rows)
    expect(table[0]).toMatch(/workflow .* E2E÷floor p50 \/ p99 .* E2E÷peer p50 \/ p99/)
    expect(table[2]).toBe(`| linear | 29.0 / 94.2 | 6.25 / 9.82 | 12.5 / 19.6 | 4.6× / 9.6× | 2.3× / 4.8× |`)
  })

  test('with the minimal chain recorded, the table adds it as a second reference line: its latencies and E2E÷minimal chain', () => {
    const task = finishedTest()
    const MINIMAL = [2, 2.2, 2.4, 2.6, 2.8, 3, 3.2, 3.4, 3.6, 5]
    recordEfficiency(task, 'linear', E2E, { minimal: MINIMAL })
    expect(taskerMeta(task).measurements.map((m) => m.name)).toContain(efficiencyName('linear', 'minimal'))
    const table = efficiencyTable(efficiencyRows(taskerMeta(task).measurements))
    expect(table[0]).toBe('| workflow | E2E p50 / p99 ms | floor p50 / p99 ms | peer p50 / p99 ms | minimal chain p50 / p99 ms | E2E÷floor p50 / p99 | E2E÷peer p50 / p99 | E2E÷minimal chain p50 / p99 |')
    expect(table[1]!.split('|').length).toBe(table[0]!.split('|').length)
    const minimal = summarize(MINIMAL)
    expect(minimal.p50).toBeCloseTo(2.9, 9)
    // 29 / 2.9 = 10×
    expect(table[2]).toMatch(/^\| linear \| 29\.0 \/ 94\.2 \| 6\.25 \/ 9\.82 \| 12\.5 \/ 19\.6 \| 2\.90 \/ [\d.]+ \| 4\.6× \/ 9\.6× \| 2\.3× \/ 4\.8× \| 10× \/ [\d.]+× \|$/)
  })

  test('the markdown summary carries the table when the run has efficiency figures, and nothing otherwise', () => {
    const doc = simulatedDocument([{ file: 'e2e-latency', bench: 'e2e linear', samples: lognormalSamples(seededRandom(3), 20, 30, 0.3) }])
    expect(renderMarkdown({ current: doc })).not.toContain('Efficiency')
    const task = finishedTest()
    for (const m of taskerMeta(task).measurements) doc.results.push({ ...doc.results[0]!, ...m.summary, bench: m.name, file: 'baselines', extra: m.extra ?? {}, budgets: [] })
    const md = renderMarkdown({ current: doc })
    expect(md).toContain('**Efficiency**')
    expect(md).toContain('| linear | 29.0 / 94.2 | 6.25 / 9.82 | 12.5 / 19.6 | 4.6× / 9.6× | 2.3× / 4.8× |')
  })
})

test('a comparison judges a ratio from the benches it divides; without one of them it says which is missing (test/compare-normalized.test.ts has the rest)', () => {
  const doc = () => {
    const d = simulatedDocument([{ file: 'baselines', bench: 'floor linear', samples: lognormalSamples(seededRandom(5), 50, 10, 0.3) }])
    for (const m of taskerMeta(finishedTest()).measurements) d.results.push({ ...d.results[0]!, ...m.summary, bench: m.name, extra: m.extra ?? {}, budgets: [], samples: undefined })
    return d
  }
  const rows = compareRuns(doc(), doc()).benches
  const ratio = rows.find((r) => r.id.includes('efficiency linear e2e/floor'))
  expect(ratio?.verdict).toBe('not comparable')
  expect(ratio?.reason).toBe('baseline: its bench "baselines > e2e linear (interleaved)" is missing')
  expect(rows.find((r) => r.id.includes('floor linear'))?.verdict).not.toBe('not comparable')
})

describe('interleaving', () => {
  test('each iteration runs every contender once, in a balanced order; warm-up samples are not kept', async () => {
    const order: string[] = []
    const contender = (name: string, ms: number) => async () => {
      order.push(name)
      return ms
    }
    const { fn, fnOpts, samples } = interleave(contender('e2e', 30), { floor: contender('floor', 3), peer: contender('peer', 5) })
    fnOpts.beforeAll('warmup')
    await fn()
    fnOpts.beforeAll('run')
    const results = [await fn(), await fn(), await fn()]
    expect(results).toEqual([{ overriddenDuration: 30 }, { overriddenDuration: 30 }, { overriddenDuration: 30 }])
    // three contenders: the orders (0 1 2), (1 2 0), (2 0 1), then their reverses
    expect(order).toEqual(['e2e', 'floor', 'peer', 'floor', 'peer', 'e2e', 'peer', 'e2e', 'floor', 'peer', 'floor', 'e2e'])
    expect(samples).toEqual({ e2e: [30, 30, 30], floor: [3, 3, 3], peer: [5, 5, 5] })
  })

  test.each([2, 3, 4, 5, 6])('%i contenders: over a cycle each takes every position and follows every other equally often', (n) => {
    const orders = balancedOrders(n)
    expect(orders).toHaveLength(n % 2 === 0 ? n : 2 * n)
    const positions = new Map<string, number>()
    const follows = new Map<string, number>()
    for (const order of orders) {
      expect([...order].sort()).toEqual(Array.from({ length: n }, (_, i) => i))
      order.forEach((c, p) => positions.set(`${c}@${p}`, (positions.get(`${c}@${p}`) ?? 0) + 1))
      for (let p = 1; p < n; p++) follows.set(`${order[p - 1]}>${order[p]}`, (follows.get(`${order[p - 1]}>${order[p]}`) ?? 0) + 1)
    }
    expect(positions.size).toBe(n * n)
    expect(new Set(positions.values()).size).toBe(1)
    expect(follows.size).toBe(n * (n - 1))
    expect(new Set(follows.values()).size).toBe(1)
  })
})
