/**
 * Two single runs compared through drift-normalized figures (normalized-statistic.ts): the E2E
 * headline gates are decided by E2E / floor of the same run when both runs hold it, so a machine
 * that is slower for the whole second run is not a regression, and a slower orchestrator still is.
 *
 * Constructed runs check the logic; the real reruns in fixtures/reruns/ (issue 12: "10 runs of the
 * same code, every pair compared, no regression flagged; a real 30 % slowdown still flagged") check
 * the defaults on what this machine really did.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { compareRuns, hasRegression } from '../harness/offline/compare/compare-runs.ts'
import { MarginBook, NORMALIZED_MARGINS, parseMarginsFile } from '../harness/offline/compare/margins.ts'
import { seededRandom, type Random } from '../harness/offline/compare/seeded-random.ts'
import { lognormalSamples, simulatedDocument, simulatedEntry } from '../harness/offline/compare/simulate.ts'
import { baselineName, efficiencyExtra, efficiencyName, interleavedE2eName, ratioSummary } from '../harness/results/efficiency.ts'
import { summarize } from '../harness/results/percentiles.ts'
import { renderMarkdown } from '../harness/offline/report/markdown.ts'
import type { ResultEntry, ResultsDocument } from '../harness/results/schema.ts'

const EFFICIENCY = `baselines > ${efficiencyName('linear', 'floor')}`

/** The baselines bench's three linear entries: E2E and floor sampled in one phase of the machine. */
function baselinesEntries(random: Random, machine: number, slowdown: number): ResultEntry[] {
  const e2e = lognormalSamples(random, 200, 18 * machine * slowdown, 0.3).sort((a, b) => a - b)
  const floor = lognormalSamples(random, 200, 8 * machine, 0.3).sort((a, b) => a - b)
  const ratio: ResultEntry = {
    ...simulatedEntry({ file: 'baselines', bench: efficiencyName('linear', 'floor'), samples: e2e }),
    ...ratioSummary(summarize(e2e), summarize(floor)),
    source: 'samples',
    extra: { ...efficiencyExtra('linear', 'floor', summarize(e2e), summarize(floor)) },
  }
  delete ratio.samples
  return [simulatedEntry({ file: 'baselines', bench: interleavedE2eName('linear'), samples: e2e }), simulatedEntry({ file: 'baselines', bench: baselineName('linear', 'floor'), samples: floor }), ratio]
}

/** A full single run: the e2e-latency file and the baselines file, each in its own phase of the machine. */
function singleRun(random: Random, phases: { e2e: number; baselines: number }, slowdown = 1, withBaselines = true): ResultsDocument {
  const doc = simulatedDocument([{ file: 'e2e-latency', bench: 'e2e linear', samples: lognormalSamples(random, 200, 18 * phases.e2e * slowdown, 0.3) }])
  if (withBaselines) doc.results.push(...baselinesEntries(random, phases.baselines, slowdown))
  return doc
}

const row = (c: ReturnType<typeof compareRuns>, id: string) => c.benches.find((b) => b.id === id)!

describe('single runs: the E2E gate is decided by E2E / floor of the same run', () => {
  test('a machine 40 % slower for the whole second run: the raw E2E moves beyond its margin, the check passes', () => {
    const random = seededRandom(5)
    const c = compareRuns(singleRun(random, { e2e: 1, baselines: 1 }), singleRun(random, { e2e: 1.4, baselines: 1.4 }))
    const raw = row(c, 'e2e-latency > e2e linear')
    expect(raw.verdict).toBe('regressed') // what the old check failed on
    expect(raw.gate).toBeUndefined()
    expect(raw.gatedBy).toBe(EFFICIENCY)
    expect(raw.reason).toContain(`drift-normalized figure "${EFFICIENCY}" gates`)
    const ratio = row(c, EFFICIENCY)
    expect(ratio.gate).toBe('p50')
    expect(ratio.normalized).toBe(true)
    expect(ratio.verdict).toBe('unchanged')
    expect(hasRegression(c)).toBe(false)
  })

  test('a 30 % slower orchestrator on a machine whose speed also changed is flagged, and explained in one line', () => {
    const random = seededRandom(6)
    let flagged = 0
    for (let i = 0; i < 50; i++) {
      const phase = () => Math.exp(0.15 * (random() - 0.5))
      const c = compareRuns(singleRun(random, { e2e: phase(), baselines: phase() }), singleRun(random, { e2e: phase(), baselines: phase() }, 1.3))
      if (hasRegression(c)) flagged++
    }
    expect(flagged).toBeGreaterThanOrEqual(45)
    const c = compareRuns(singleRun(random, { e2e: 1, baselines: 1 }), singleRun(random, { e2e: 0.9, baselines: 0.9 }, 1.3))
    const ratio = row(c, EFFICIENCY)
    expect(ratio.verdict).toBe('regressed')
    expect(ratio.reason).toMatch(/^p50 \+\d+\.\d % \(\+\d\.\d\d×\) run vs run, each divided by its own floor: z = [\d.]+ > [\d.]+, beyond the 12 % margin/)
  })

  test('the PR summary shows the gating ratio as a ratio, and says it is drift-normalized', () => {
    const random = seededRandom(10)
    const base = singleRun(random, { e2e: 1, baselines: 1 })
    const head = singleRun(random, { e2e: 1.2, baselines: 1.2 })
    const md = renderMarkdown({ current: head, comparison: compareRuns(base, head) })
    expect(md).toMatch(new RegExp(`\\| ${EFFICIENCY} \\| p50 \\| [\\d.]+× \\| [\\d.]+× \\|`))
    expect(md).toContain('The E2E gates (efficiency linear e2e/floor) are drift-normalized and judged at 12 %')
  })

  test('without the baselines figures in both runs the raw E2E gates, at the wide single-run margins', () => {
    const random = seededRandom(7)
    const c = compareRuns(singleRun(random, { e2e: 1, baselines: 1 }), singleRun(random, { e2e: 1, baselines: 1 }, 1.5, false))
    const raw = row(c, 'e2e-latency > e2e linear')
    expect(raw.gate).toBe('p50')
    expect(raw.gatedBy).toBeUndefined()
    expect(raw.metrics[0]!.margin.relative).toBe(0.25)
    expect(hasRegression(c)).toBe(true)
  })

  test('a ratio whose benches are missing or kept no samples is not comparable, and says which', () => {
    const random = seededRandom(8)
    const base = singleRun(random, { e2e: 1, baselines: 1 })
    const head = singleRun(random, { e2e: 1, baselines: 1 })
    head.results = head.results.filter((e) => e.bench !== baselineName('linear', 'floor'))
    const c = compareRuns(base, head)
    expect(row(c, EFFICIENCY).verdict).toBe('not comparable')
    expect(row(c, EFFICIENCY).reason).toBe('current: its bench "baselines > floor linear" is missing')
    expect(row(c, 'e2e-latency > e2e linear').gate).toBe('p50') // the raw figure gates again
  })

  test('interleaved rounds: the ratio is compared within each pair too, and only informs', () => {
    const random = seededRandom(9)
    const baseline = [1, 1.3, 0.8].map((m) => singleRun(random, { e2e: m, baselines: m }))
    const current = [1, 1.3, 0.8].map((m) => singleRun(random, { e2e: m, baselines: m }, 1.3))
    const c = compareRuns(baseline[0]!, current[0]!, { rounds: { baseline, current } })
    expect(row(c, EFFICIENCY).gate).toBeUndefined()
    expect(row(c, EFFICIENCY).verdict).toBe('regressed')
    expect(row(c, EFFICIENCY).metrics[0]!.effect!.rounds).toBe(3)
    expect(row(c, 'e2e-latency > e2e linear').gate).toBe('p50')
  })
})

describe('margins of drift-normalized figures', () => {
  test('their own defaults; a margins file reaches them only by naming the figure', () => {
    const spec = parseMarginsFile(
      ['defaults:', '  p50: { relative: 0.5 }', 'benches:', '  baselines:', "    '*':", '      p50: { relative: 0.4 }', '    efficiency linear e2e/floor:', '      p95: { relative: 0.3 }'].join('\n'),
      'margins.yaml',
    )
    const book = new MarginBook(spec, 'margins.yaml')
    expect(book.for('baselines', 'efficiency linear e2e/floor', true).p50).toEqual(NORMALIZED_MARGINS.p50)
    expect(book.for('baselines', 'efficiency linear e2e/floor', true).p95.relative).toBe(0.3)
    expect(book.for('baselines', 'floor linear').p50.relative).toBe(0.4)
  })
})

/**
 * Real reruns on this machine (fixtures/reruns/baselines-linear.json, from npm run bench:power on
 * benchmarks/baselines.bench.ts, linear workflow, 200 samples per run; how it was made is in the
 * file). Each run is reduced to the three entries the figure needs.
 */
describe('real reruns: identical code never flagged, a real 30 % slowdown flagged', () => {
  const fixture = JSON.parse(readFileSync(path.join(import.meta.dirname, '../fixtures/reruns/baselines-linear.json'), 'utf8')) as RerunFixture
  const docs = (runs: RerunFixture['runs']) => runs.map((r): ResultsDocument => ({ schemaVersion: 1, environment: fixture.environment, results: r.results }))
  // the base side of every condition is unchanged code too
  const identical = docs(fixture.runs.filter((r) => r.delayMs === 0))
  const slowed = docs(fixture.runs.filter((r) => r.effect === 0.3 && r.delayMs > 0))
  const gates = [{ file: 'baselines', bench: efficiencyName('linear', 'floor'), metric: 'p50' as const }]

  test('the fixture holds 40 identical-code runs and 10 runs with a 30 % slower worker', () => {
    expect(identical.length).toBe(40)
    expect(slowed.length).toBe(10)
  })

  test('10 runs of the same code, every ordered pair compared: no regression', () => {
    const ten = identical.slice(0, 10)
    const flagged = ten.flatMap((a, i) => ten.filter((_, j) => j !== i && hasRegression(compareRuns(a, ten[j]!, { gates }))).map((_, j) => `${i}→${j}`))
    expect(flagged).toEqual([])
  })

  test('every run with a 30 % slower worker is flagged against each of those 10; against all identical runs at least 90 % of the time', () => {
    const flaggedShare = (bases: readonly ResultsDocument[]) => {
      const verdicts = slowed.flatMap((s) => bases.map((z) => hasRegression(compareRuns(z, s, { gates }))))
      return verdicts.filter(Boolean).length / verdicts.length
    }
    expect(flaggedShare(identical.slice(0, 10))).toBe(1)
    // the misses: the noisiest runs of the busiest minutes, where the run's own sampling error is
    // too large for z to clear (each says "not beyond the noise … detectable ≥ +40 %")
    expect(flaggedShare(identical)).toBeGreaterThanOrEqual(0.9)
  })

  test('across all identical-code runs, at most 2 % of the ordered pairs are flagged', () => {
    const verdicts = identical.flatMap((a, i) => identical.filter((_, j) => j !== i).map((b) => hasRegression(compareRuns(a, b, { gates }))))
    expect(verdicts.filter(Boolean).length / verdicts.length).toBeLessThanOrEqual(0.02)
  })
})

interface RerunFixture {
  environment: ResultsDocument['environment']
  runs: Array<{ name: string; effect: number; delayMs: number; results: ResultEntry[] }>
}
