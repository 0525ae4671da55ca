/**
 * Margins (file format, precedence, errors), their calibration from repeated runs and the writing
 * of the margins file, the comparison settings, pooling of rounds and the interleaving plan.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { ConfigError } from '../harness/config/settings.ts'
import { interleavedPlan } from '../harness/offline/compare/ab-plan.ts'
import { gatingModules } from '../harness/offline/compare/gating.ts'
import { proposeMargins } from '../harness/offline/compare/calibrate.ts'
import { studentCdf, studentQuantile, twoSampleT } from '../harness/offline/compare/student-t.ts'
import { BUILT_IN_MARGINS, loadMargins, MarginBook, PAIRED_MARGINS, parseMarginsFile } from '../harness/offline/compare/margins.ts'
import { writeMarginsFile } from '../harness/offline/compare/margins-file.ts'
import { poolRounds } from '../harness/offline/compare/pool.ts'
import { loadCompareSettings } from '../harness/offline/compare/settings.ts'
import { HEADLINE_GATES } from '../harness/offline/compare/gating.ts'
import { simulatedDocument, simulatedEntry } from '../harness/offline/compare/simulate.ts'
import type { ResultsDocument } from '../harness/results/schema.ts'

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tasker-bench-calibrate-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

/** A run in which bench `b` of file `sim` has exactly these samples (so p50 and p95 are known). */
const runWith = (samples: number[], bench = 'b'): ResultsDocument => simulatedDocument([{ file: 'sim', bench, samples }])
/** 100 samples whose p50 is `median` (and p95 proportionally above it) */
const scaled = (median: number) => Array.from({ length: 101 }, (_, i) => median * (0.5 + i / 100))

describe('margins file', () => {
  const file = `
defaults:
  p50: { relative: 0.12 }
benches:
  event-propagation:
    '*':
      p95: { relative: 0.3, absoluteMs: 0.2 }
    notify small payload:
      p50: { absoluteMs: 0.08 }
      p95: { relative: 0.25 }
`
  test('each level overrides only the fields it names: built-in < defaults < file * < bench', () => {
    const book = new MarginBook(parseMarginsFile(file, 'm.yaml'), 'm.yaml')
    expect(book.for('event-propagation', 'notify small payload')).toEqual({ p50: { relative: 0.12, absoluteMs: 0.08 }, p95: { relative: 0.25, absoluteMs: 0.2 }, p99: BUILT_IN_MARGINS.p99 })
    expect(book.for('event-propagation', 'other')).toEqual({ p50: { relative: 0.12, absoluteMs: 0.05 }, p95: { relative: 0.3, absoluteMs: 0.2 }, p99: BUILT_IN_MARGINS.p99 })
    expect(book.for('e2e-latency', 'linear')).toEqual({ p50: { relative: 0.12, absoluteMs: 0.05 }, p95: BUILT_IN_MARGINS.p95, p99: BUILT_IN_MARGINS.p99 })
    expect(new MarginBook().for('x', 'y')).toEqual(BUILT_IN_MARGINS)
    expect(book.uncalibrated).toBe(false)
    expect(new MarginBook().uncalibrated).toBe(true)
    // paired rounds (bench:ab) sit on their own, narrower defaults; the file's levels still override them
    const paired = new MarginBook(parseMarginsFile(file, 'm.yaml'), 'm.yaml', PAIRED_MARGINS)
    expect(paired.for('e2e-latency', 'linear')).toEqual({ p50: { relative: 0.12, absoluteMs: 0.05 }, p95: PAIRED_MARGINS.p95, p99: PAIRED_MARGINS.p99 })
    expect(PAIRED_MARGINS.p50.relative).toBeLessThan(BUILT_IN_MARGINS.p50.relative)
  })

  test('a missing file means the built-in margins', () => {
    const book = loadMargins(path.join(tmp, 'absent.yaml'))
    expect(book.source).toBe('built-in')
    expect(book.for('a', 'b')).toEqual(BUILT_IN_MARGINS)
  })

  test.each([
    ['an unknown top-level key', 'margins: {}', /unknown key "margins" \(expected defaults or benches\)/],
    ['an unknown metric', 'defaults:\n  p90: { relative: 0.1 }', /"p90" is not a compared metric \(expected p50 or p95 or p99\)/],
    ['a percentage instead of a fraction', "defaults:\n  p50: { relative: '10%' }", /p50\.relative: "10%" is not a number within 0\.\.10 \(a fraction: 0\.1 = 10 %\)/],
    ['a negative margin', 'defaults:\n  p95: { absoluteMs: -1 }', /p95\.absoluteMs: -1 is not a number/],
    ['a misspelt field', 'defaults:\n  p50: { relativ: 0.1 }', /unknown field "relativ"/],
    ['a bench given a list', 'benches:\n  sim:\n    b: [0.1]', /benches > sim > b: expected e\.g\. \{ p50: \{ relative: 0\.1, absoluteMs: 0\.05 \} \}, got a list/],
    ['invalid YAML', 'benches:\n  sim:\n    *: {}', /invalid YAML/],
  ])('rejects %s, naming the file and the place', (_, content, message) => {
    expect(() => parseMarginsFile(content, 'fixtures/margins.yaml')).toThrow(ConfigError)
    expect(() => parseMarginsFile(content, 'fixtures/margins.yaml')).toThrow(/^fixtures\/margins\.yaml: /)
    expect(() => parseMarginsFile(content, 'fixtures/margins.yaml')).toThrow(message)
  })
})

describe('calibration', () => {
  test('Student t quantiles match the textbook table (one-sided 0.99 and 0.995, 1..30 degrees of freedom)', () => {
    // prettier-ignore
    const t99 = [31.821, 6.965, 4.541, 3.747, 3.365, 3.143, 2.998, 2.896, 2.821, 2.764, 2.718, 2.681, 2.65, 2.624, 2.602, 2.583, 2.567, 2.552, 2.539, 2.528, 2.518, 2.508, 2.5, 2.492, 2.485, 2.479, 2.473, 2.467, 2.462, 2.457]
    // prettier-ignore
    const t995 = [63.657, 9.925, 5.841, 4.604, 4.032, 3.707, 3.499, 3.355, 3.25, 3.169, 3.106, 3.055, 3.012, 2.977, 2.947, 2.921, 2.898, 2.878, 2.861, 2.845, 2.831, 2.819, 2.807, 2.797, 2.787, 2.779, 2.771, 2.763, 2.756, 2.75]
    t99.forEach((t, i) => expect(studentQuantile(0.99, i + 1)).toBeCloseTo(t, 2))
    t995.forEach((t, i) => expect(studentQuantile(0.995, i + 1)).toBeCloseTo(t, 2))
    expect(studentCdf(2, 5)).toBeCloseTo(0.9490303, 6) // SciPy
    expect(studentQuantile(0.975, 1000)).toBeCloseTo(1.962339, 4) // close to the normal's 1.96
    expect(() => studentQuantile(0.99, 0)).toThrow(/≥ 1/)
    expect(() => studentQuantile(0.4, 3)).toThrow(/between 0\.5 and 1/)
  })

  test('two-sample t with pooled variance (reference: SciPy ttest_ind)', () => {
    const r = twoSampleT([1.0, 1.2, 0.9], [1.4, 1.5, 1.3])
    expect(r.degreesOfFreedom).toBe(4)
    expect(r.difference).toBeCloseTo(0.3667, 4)
    expect(r.t).toBeCloseTo(3.4785, 3)
    expect(twoSampleT([1, 1], [1, 1]).t).toBe(0)
    expect(twoSampleT([1, 1], [2, 2]).t).toBe(Infinity)
    expect(() => twoSampleT([1], [2])).toThrow(/3 values or more/)
  })

  test('proposes the 99 % prediction bound of two future runs from the spread between runs', () => {
    const medians = [1.0, 1.1, 0.95, 1.05, 1.0]
    const [p] = proposeMargins(medians.map((m) => runWith(scaled(m))))
    expect(p).toMatchObject({ file: 'sim', bench: 'b', runs: 5 })
    const p50 = p!.metrics.find((m) => m.metric === 'p50')!
    expect(p50.values).toEqual(medians.map((m) => m * 1.0)) // p50 of `scaled` is the median given
    expect(p50.spreadRelative).toBeCloseTo(0.15 / 0.95, 10) // largest pairwise: 1.10 vs 0.95
    // t(0.99, 4) · √2 · sd(ln medians), as a relative factor, rounded up to whole percents
    const logs = medians.map(Math.log)
    const mean = logs.reduce((a, b) => a + b) / logs.length
    const sd = Math.sqrt(logs.reduce((s, v) => s + (v - mean) ** 2, 0) / (logs.length - 1))
    expect(p50.margin.relative).toBe(Math.ceil(Math.expm1(studentQuantile(0.99, 4) * Math.SQRT2 * sd) * 100 - 1e-9) / 100)
    expect(studentQuantile(0.99, 4)).toBeCloseTo(3.747, 3)
    expect(p50.margin.relative).toBeGreaterThan(p50.spreadRelative)
    expect(p!.warning).toBeUndefined()
  })

  test('more safety, wider margins; quiet benches get the floors; two wild runs get a warning', () => {
    const runs = [1.0, 1.02, 0.99].map((m) => runWith(scaled(m)))
    const plain = proposeMargins(runs)[0]!.metrics[0]!.margin.relative
    expect(proposeMargins(runs, { safety: 2 })[0]!.metrics[0]!.margin.relative).toBeGreaterThan(plain)
    const steady = proposeMargins([1, 1, 1].map((m) => runWith(scaled(m))))[0]!
    expect(steady.metrics.map((m) => m.margin)).toEqual([
      { relative: 0.03, absoluteMs: 0.05 },
      { relative: 0.05, absoluteMs: 0.1 },
      { relative: 0.08, absoluteMs: 0.2 },
    ])
    const wild = proposeMargins([1, 1.6].map((m) => runWith(scaled(m))))[0]!
    expect(wild.warning).toMatch(/^sim > b: only a slowdown beyond 1000 % \(or none at all\) could be flagged \(runs differ by up to 60 %, and 2 runs say little\)/)
    expect(() => proposeMargins(runs, { safety: 0.5 })).toThrow(/within 1\.\.10/)
  })

  test('benches measured in fewer than two runs get no proposal', () => {
    const proposals = proposeMargins([runWith(scaled(1), 'b'), runWith(scaled(1), 'only once')])
    expect(proposals).toEqual([])
  })

  test('writing keeps other benches, the defaults and comments; re-calibrating replaces the numbers', () => {
    const file = path.join(tmp, 'margins.yaml')
    writeFileSync(file, "# team note: keep\ndefaults:\n  p50: { relative: 0.2 } # looser for all\nbenches:\n  other:\n    '*':\n      p95: { relative: 0.4 }\n")
    const proposals = proposeMargins([1.0, 1.1, 0.95].map((m) => runWith(scaled(m))))
    writeMarginsFile(file, proposals, 'calibrated 2025-01-01 on Test CPU')
    let text = readFileSync(file, 'utf8')
    expect(text).toMatch(/^# team note: keep/)
    expect(text).toContain('p50: { relative: 0.2 } # looser for all')
    expect(text).toMatch(/ {4}b:\n {6}# calibrated 2025-01-01 on Test CPU; spread p50 15\.8 %, p95 15\.8 %, p99 15\.8 % over 3 runs\n {6}p50: \{ relative: [\d.]+, absoluteMs: [\d.]+ \}\n {6}p95: \{ relative: [\d.]+, absoluteMs: [\d.]+ \}\n {6}p99: \{ relative: [\d.]+, absoluteMs: [\d.]+ \}/)
    const book = loadMargins(file)
    expect(book.for('sim', 'b').p50.relative).toBe(proposals[0]!.metrics[0]!.margin.relative)
    expect(book.for('other', 'x').p95.relative).toBe(0.4)

    writeMarginsFile(file, proposeMargins([1, 1, 1].map((m) => runWith(scaled(m)))), 'calibrated again')
    text = readFileSync(file, 'utf8')
    expect(text).not.toContain('2025-01-01')
    expect(text.match(/calibrated again/g)).toHaveLength(1)
    expect(loadMargins(file).for('sim', 'b').p50.relative).toBe(0.03)
  })

  test('a new margins file starts with a header that explains it', () => {
    const file = path.join(tmp, 'nested', 'new-margins.yaml')
    writeMarginsFile(file, proposeMargins([1, 1.01].map((m) => runWith(scaled(m)))), 'calibrated')
    const text = readFileSync(file, 'utf8')
    expect(text).toMatch(/^# Regression margins for baseline comparisons/)
    expect(parseMarginsFile(text, file).benches.sim!.b!.p50!.relative).toBeGreaterThan(0)
  })
})

describe('comparison settings', () => {
  const root = tmp
  test('defaults: no baseline, blocking, fixtures/margins.yaml', () => {
    expect(loadCompareSettings({ root, env: {} })).toEqual({
      baseline: undefined,
      regression: 'blocking',
      marginsFile: path.join(root, 'fixtures/margins.yaml'),
      marginsFileSetting: 'fixtures/margins.yaml',
      gates: [...HEADLINE_GATES],
      progress: true,
      root,
    })
    expect(loadCompareSettings({ root, env: { BENCH_GATE: 'e2e-latency/e2e tree=p50' } }).gates).toEqual([...HEADLINE_GATES, { file: 'e2e-latency', bench: 'e2e tree', metric: 'p50' }])
  })

  test('paths resolve against the project root; CI is quiet unless BENCH_VERBOSE', () => {
    const s = loadCompareSettings({ root, env: { BENCH_BASELINE: 'benchmarks/baselines/main.json', BENCH_REGRESSION: 'informational', BENCH_MARGINS_FILE: '/abs/m.yaml', CI: 'true' } })
    expect(s).toMatchObject({ baseline: path.join(root, 'benchmarks/baselines/main.json'), regression: 'informational', marginsFile: '/abs/m.yaml', progress: false })
    expect(loadCompareSettings({ root, env: { CI: 'true', BENCH_VERBOSE: 'true' } }).progress).toBe(true)
  })

  test('an invalid BENCH_REGRESSION is one line naming it', () => {
    expect(() => loadCompareSettings({ root, env: { BENCH_REGRESSION: 'strict' } })).toThrow(new ConfigError('BENCH_REGRESSION=strict is not one of blocking|informational'))
  })
})

describe('pooling rounds and the interleaving plan', () => {
  test('pooled samples of every round, n summed, budgets of every round kept', () => {
    const round = (samples: number[], passed: boolean): ResultsDocument => {
      const doc = simulatedDocument([{ file: 'sim', bench: 'b', samples }])
      doc.results[0]!.budgets = [{ expression: 'p(95)<10', operator: '<', limit: 10, observed: passed ? 5 : 12, passed }]
      if (!passed) doc.results[0]!.state = 'failed'
      return doc
    }
    const pooled = poolRounds([round([1, 2, 3], true), round([4, 5], false)])
    expect(pooled.results).toHaveLength(1)
    expect(pooled.results[0]).toMatchObject({ n: 5, p50: 3, min: 1, max: 5, samples: [1, 2, 3, 4, 5], state: 'failed', extra: { rounds: 2 } })
    expect(pooled.results[0]!.budgets.map((b) => b.passed)).toEqual([true, false])
    expect(() => poolRounds([])).toThrow(/no rounds/)
  })

  test('n counts samples taken, also when a round kept only quantile points', () => {
    const entry = simulatedEntry({ file: 'sim', bench: 'b', samples: [1, 2, 3] })
    const doc: ResultsDocument = { ...simulatedDocument([]), results: [{ ...entry, n: 10_000 }] }
    expect(poolRounds([doc, doc]).results[0]).toMatchObject({ n: 20_000, p99Meaningful: true })
  })

  test('rounds alternate which side runs first (base head, head base, …)', () => {
    expect(interleavedPlan(3).map((r) => `${r.round}${r.side[0]}`)).toEqual(['1b', '1h', '2h', '2b', '3b', '3h'])
    expect(() => interleavedPlan(0)).toThrow(/within 1\.\.20/)
    expect(() => interleavedPlan(21)).toThrow(/within 1\.\.20/)
  })

  test('rounds after --rounds, up to --gate-rounds, run only the gating benches', () => {
    const plan = interleavedPlan(2, 4)
    expect(plan.map((r) => `${r.round}${r.side[0]}:${r.scope}`)).toEqual(['1b:all', '1h:all', '2h:all', '2b:all', '3b:gating', '3h:gating', '4h:gating', '4b:gating'])
    expect(() => interleavedPlan(3, 2)).toThrow(/--gate-rounds 2 must be a whole number within 3 \(--rounds\)\.\.20/)
    const entries = [
      { file: 'e2e-latency', bench: 'e2e linear', module: 'benchmarks/e2e-latency.bench.ts' },
      { file: 'e2e-latency', bench: 'e2e tree', module: 'benchmarks/e2e-latency.bench.ts' },
      { file: 'handler-overhead', bench: 'no-op direct', module: 'benchmarks/handler-overhead.bench.ts' },
      { file: 'sql-functions', bench: 'get_next_ready_tasks(1) @100K', module: 'benchmarks/sql-functions.bench.ts' },
    ]
    expect(gatingModules(entries, HEADLINE_GATES)).toEqual(['benchmarks/e2e-latency.bench.ts', 'benchmarks/sql-functions.bench.ts'])
    expect(gatingModules(entries.slice(2, 3), HEADLINE_GATES)).toEqual([])
  })
})
