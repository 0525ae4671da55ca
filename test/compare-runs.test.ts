/**
 * The proof that the regression check can be trusted: an injected slowdown is flagged, the same
 * code re-run is not (simulated many times from one distribution with a seeded generator, also
 * with run-to-run drift and calibrated margins, also for interleaved rounds), and the cases that
 * cannot be judged say "not comparable" with the reason.
 */
import { describe, expect, test } from 'vitest'
import { compareRuns, hasRegression, type Comparison } from '../setup/compare/compare-runs.ts'
import { proposeMargins } from '../setup/compare/calibrate.ts'
import { MarginBook } from '../setup/compare/margins.ts'
import { poolRounds } from '../setup/compare/pool.ts'
import { seededRandom, type Random } from '../setup/compare/seeded-random.ts'
import { lognormalSamples, normalDeviate, simulatedDocument, type SimulatedBench } from '../setup/compare/simulate.ts'
import type { ResultsDocument } from '../setup/results/schema.ts'

/** A run of three benches; `slowdown` multiplies the latencies of the bench named in it. */
function suiteRun(random: Random, slowdown: Record<string, number> = {}, n = 1000): ResultsDocument {
  const benches: Array<[string, string, number, number]> = [
    ['event-propagation', 'notify small payload', 0.45, 0.3],
    ['event-propagation', 'notify 6KB payload', 0.7, 0.35],
    ['task-initialization', 'create linear task', 18, 0.25],
  ]
  return simulatedDocument(benches.map(([file, bench, median, sigma]) => ({ file, bench, samples: lognormalSamples(random, n, median * (slowdown[bench] ?? 1), sigma) })))
}

const verdicts = (c: Comparison) => Object.fromEntries(c.benches.map((b) => [b.bench, b.verdict]))

describe('a slowdown injected into one bench', () => {
  test('is flagged as a regression of that bench only, with the evidence', () => {
    const random = seededRandom(1)
    const c = compareRuns(suiteRun(random), suiteRun(random, { 'notify 6KB payload': 1.3 }))
    expect(verdicts(c)).toEqual({ 'notify small payload': 'unchanged', 'notify 6KB payload': 'regressed', 'create linear task': 'unchanged' })
    expect(hasRegression(c)).toBe(true)
    expect(c.counts).toEqual({ regressed: 1, improved: 0, unchanged: 2, 'not comparable': 0 })
    const row = c.benches.find((b) => b.verdict === 'regressed')!
    expect(row.reason).toMatch(/^p50 \+\d+\.\d % \(\+0\.\d+ ms\), p < 0\.001/)
    const p50 = row.metrics.find((m) => m.metric === 'p50')!
    expect(p50).toMatchObject({ test: 'mann-whitney', significant: true, exceedsMargin: true, verdict: 'regressed' })
    expect(p50.relative).toBeGreaterThan(0.2)
  })

  test('a speed-up is "improved", not a regression', () => {
    const random = seededRandom(2)
    const c = compareRuns(suiteRun(random), suiteRun(random, { 'create linear task': 0.7 }))
    expect(verdicts(c)['create linear task']).toBe('improved')
    expect(hasRegression(c)).toBe(false)
  })

  test('is caught in most repetitions (power), at 200 samples and a 25 % slowdown', () => {
    const random = seededRandom(3)
    let flagged = 0
    for (let i = 0; i < 40; i++) {
      const base = simulatedDocument([{ file: 'sim', bench: 'b', samples: lognormalSamples(random, 200, 1, 0.5) }])
      const head = simulatedDocument([{ file: 'sim', bench: 'b', samples: lognormalSamples(random, 200, 1.25, 0.5) }])
      if (compareRuns(base, head, { resamples: 500 }).benches[0]!.verdict === 'regressed') flagged++
    }
    expect(flagged / 40).toBeGreaterThanOrEqual(0.85)
  })
})

describe('the same code re-run', () => {
  const REPETITIONS = 200

  test(`is not flagged: false-positive rate < 5 % over ${REPETITIONS} pairs drawn from one distribution`, () => {
    const random = seededRandom(4)
    const draw = () => simulatedDocument([{ file: 'sim', bench: 'b', samples: lognormalSamples(random, 200, 1, 0.5) }])
    let flagged = 0
    let beyondMarginsOnly = 0
    for (let i = 0; i < REPETITIONS; i++) {
      const c = compareRuns(draw(), draw(), { resamples: 500 })
      if (c.benches[0]!.verdict === 'regressed') flagged++
      if (c.benches[0]!.metrics.some((m) => m.exceedsMargin && m.deltaMs > 0)) beyondMarginsOnly++
    }
    expect(flagged / REPETITIONS).toBeLessThan(0.05)
    // The margins alone (a naive "10 % slower" gate) would cry wolf far more often: the
    // significance test is what keeps this rate down.
    expect(beyondMarginsOnly / REPETITIONS).toBeGreaterThan(0.05)
    expect(beyondMarginsOnly).toBeGreaterThan(flagged * 3)
  })

  test('with run-to-run drift: calibrated margins keep false positives < 5 % and still catch a 50 % slowdown', () => {
    const random = seededRandom(5)
    // every run is slower or faster as a whole by a random factor (5 % log-sd), as on a shared machine
    const run = (slowdown = 1) => {
      const drift = Math.exp(0.05 * normalDeviate(random))
      return simulatedDocument([{ file: 'sim', bench: 'b', samples: lognormalSamples(random, 1000, slowdown * drift, 0.4) }])
    }
    const [proposal] = proposeMargins(Array.from({ length: 10 }, () => run()))
    const margins = new MarginBook({ defaults: Object.fromEntries(proposal!.metrics.map((m) => [m.metric, m.margin])), benches: {} }, 'calibrated')
    let falsePositives = 0
    let falsePositivesWithoutCalibration = 0
    for (let i = 0; i < REPETITIONS; i++) {
      const a = run()
      const b = run()
      if (compareRuns(a, b, { margins, resamples: 500 }).benches[0]!.verdict === 'regressed') falsePositives++
      if (compareRuns(a, b, { margins: new MarginBook({ defaults: { p50: { relative: 0, absoluteMs: 0 }, p95: { relative: 0, absoluteMs: 0 } }, benches: {} }), resamples: 500 }).benches[0]!.verdict === 'regressed') {
        falsePositivesWithoutCalibration++
      }
    }
    expect(falsePositives / REPETITIONS).toBeLessThan(0.05)
    // on samples alone drift looks significant: without margins the check would fail often
    expect(falsePositivesWithoutCalibration / REPETITIONS).toBeGreaterThan(0.1)
    let caught = 0
    for (let i = 0; i < 30; i++) if (compareRuns(run(), run(1.5), { margins, resamples: 500 }).benches[0]!.verdict === 'regressed') caught++
    expect(caught / 30).toBeGreaterThanOrEqual(0.9)
  })

  test('interleaved rounds: even with runs swinging ±15 %, no margins, false positives < 5 %; a 40 % slowdown is caught', () => {
    const random = seededRandom(6)
    const run = (slowdown: number, drift: number) => simulatedDocument([{ file: 'sim', bench: 'b', samples: lognormalSamples(random, 300, slowdown * Math.exp(drift * normalDeviate(random)), 0.4) }])
    const rounds = (slowdown: number, drift: number) => [run(slowdown, drift), run(slowdown, drift), run(slowdown, drift)]
    const noMargins = new MarginBook({ defaults: { p50: { relative: 0, absoluteMs: 0 }, p95: { relative: 0, absoluteMs: 0 } }, benches: {} })
    let falsePositives = 0
    let pooledOnly = 0
    for (let i = 0; i < REPETITIONS; i++) {
      const base = rounds(1, 0.15)
      const head = rounds(1, 0.15)
      if (compareRuns(poolRounds(base), poolRounds(head), { rounds: { baseline: base, current: head }, margins: noMargins, resamples: 300 }).benches[0]!.verdict === 'regressed') falsePositives++
      if (compareRuns(poolRounds(base), poolRounds(head), { margins: noMargins, resamples: 300 }).benches[0]!.verdict === 'regressed') pooledOnly++
    }
    expect(falsePositives / REPETITIONS).toBeLessThan(0.05)
    // the pooled samples alone take run-to-run drift for a difference
    expect(pooledOnly / REPETITIONS).toBeGreaterThan(0.2)
    let caught = 0
    for (let i = 0; i < 20; i++) {
      const base = rounds(1, 0.03)
      const head = rounds(1.4, 0.03)
      const c = compareRuns(poolRounds(base), poolRounds(head), { rounds: { baseline: base, current: head }, resamples: 300 })
      if (c.benches[0]!.verdict === 'regressed') caught++
      expect(c.method.rounds).toBe(3)
    }
    expect(caught / 20).toBeGreaterThanOrEqual(0.9)
  })
})

describe('not comparable', () => {
  const random = seededRandom(7)
  const bench = (bench: string, n: number, median = 1): SimulatedBench => ({ file: 'sim', bench, samples: lognormalSamples(random, n, median, 0.3) })

  test('too few samples on either side (< 20), even for a large change', () => {
    const c = compareRuns(simulatedDocument([bench('few now', 500), bench('few before', 15)]), simulatedDocument([bench('few now', 19, 3), bench('few before', 500, 3)]))
    expect(verdicts(c)).toEqual({ 'few now': 'not comparable', 'few before': 'not comparable' })
    expect(c.benches[0]!.reason).toBe('only 19 samples in this run, 20 needed')
    expect(c.benches[1]!.reason).toBe('only 15 samples in the baseline, 20 needed')
    expect(hasRegression(c)).toBe(false)
  })

  test('a different environment (Node, CPU, PostgreSQL, pgmq…) makes every bench not comparable', () => {
    const base = simulatedDocument([bench('a', 300)])
    for (const [field, env] of [
      ['node', { node: 'v22.1.0' }],
      ['cpuModel', { cpuModel: 'Other CPU' }],
      ['cpuCount', { cpuCount: 64 }],
      ['postgres.version', { postgres: { mode: 'embedded' as const, version: '17.2', reason: 'x' } }],
      ['postgres.mode', { postgres: { mode: 'external' as const, version: '18.1', reason: 'x' } }],
      ['pgmq.version', { pgmq: { kind: 'extension', version: '1.5.0' } }],
    ] as const) {
      const c = compareRuns(base, simulatedDocument([bench('a', 300, 2)], env))
      expect(c.environment.comparable).toBe(false)
      expect(c.environment.differences.map((d) => d.field)).toContain(field)
      expect(verdicts(c)).toEqual({ a: 'not comparable' })
      expect(c.benches[0]!.reason).toMatch(new RegExp(`^environment differs: .*${field.replace('.', '\\.')}`))
    }
    // the commit and the time of the run are expected to differ
    expect(compareRuns(base, simulatedDocument([bench('a', 300)], { commit: 'other', timestamp: '2030-01-01T00:00:00.000Z' })).environment.comparable).toBe(true)
  })

  test('told to ignore the environment, it compares and still lists the differences', () => {
    const c = compareRuns(simulatedDocument([bench('a', 500)]), simulatedDocument([bench('a', 500, 2)], { node: 'v26.0.0' }), { ignoreEnvironment: true })
    expect(c.environment).toMatchObject({ comparable: true, ignored: true, differences: [{ field: 'node', baseline: 'v24.21.0', current: 'v26.0.0' }] })
    expect(verdicts(c)).toEqual({ a: 'regressed' })
  })

  test('a baseline without retained samples, a new bench and a removed one', () => {
    const base = simulatedDocument([bench('kept', 300), bench('removed', 300)])
    delete base.results[0]!.samples
    const c = compareRuns(base, simulatedDocument([bench('kept', 300), bench('new', 300)]))
    expect(c.benches.map((b) => [b.bench, b.verdict, b.reason])).toEqual([
      ['kept', 'not comparable', 'the baseline kept no samples (save a new baseline with this version)'],
      ['new', 'not comparable', 'new: no baseline entry'],
      ['removed', 'not comparable', 'not measured in this run'],
    ])
  })

  test('p95 is compared only with 100 samples a side; the verdict then rests on p50', () => {
    const c = compareRuns(simulatedDocument([bench('b', 60)]), simulatedDocument([bench('b', 60)]))
    const p95 = c.benches[0]!.metrics.find((m) => m.metric === 'p95')!
    expect(p95).toMatchObject({ verdict: 'not compared', test: 'none' })
    expect(c.benches[0]!.verdict).toBe('unchanged')
  })
})

describe('margins and rounds', () => {
  test('a significant change inside the margins is "unchanged", and says why', () => {
    const random = seededRandom(8)
    const base = simulatedDocument([{ file: 'sim', bench: 'b', samples: lognormalSamples(random, 5000, 1, 0.1) }])
    const head = simulatedDocument([{ file: 'sim', bench: 'b', samples: lognormalSamples(random, 5000, 1.05, 0.1) }])
    const c = compareRuns(base, head)
    const p50 = c.benches[0]!.metrics[0]!
    expect(p50.significant).toBe(true) // 5 % is real with 5000 samples…
    expect(p50.exceedsMargin).toBe(false) // …but smaller than the 10 % margin
    expect(c.benches[0]!.verdict).toBe('unchanged')
    expect(p50.note).toMatch(/within margins \(±10\.0 % and 0\.050 ms\)/)
    // a tighter margin for this bench turns it into a regression
    const strict = new MarginBook({ defaults: {}, benches: { sim: { b: { p50: { relative: 0.02, absoluteMs: 0.01 } } } } })
    expect(compareRuns(base, head, { margins: strict }).benches[0]!.verdict).toBe('regressed')
  })

  test('a slower pool that the per-round values do not support is not a regression', () => {
    const random = seededRandom(9)
    const run = (median: number) => simulatedDocument([{ file: 'sim', bench: 'b', samples: lognormalSamples(random, 500, median, 0.2) }])
    const base = [run(1), run(1), run(1)]
    const head = [run(2), run(0.97), run(0.97)] // one disturbed round drags the pooled samples
    const c = compareRuns(poolRounds(base), poolRounds(head), { rounds: { baseline: base, current: head } })
    const p95 = c.benches[0]!.metrics.find((m) => m.metric === 'p95')!
    expect(p95.exceedsMargin && p95.significant).toBe(true) // on the pooled samples it looks like a regression…
    expect(p95.rounds).toMatchObject({ total: 3, critical: 4.604, significant: false }) // …the rounds disagree: t(0.995, 4)
    expect(c.benches[0]!.verdict).toBe('unchanged')
    expect(c.benches[0]!.reason).toMatch(/p95 .* but within the variation between runs: t = −?[\d.]+ across 3 rounds, 4\.604 needed/)
  })

  test('a slowdown in every round stands out from the variation between them', () => {
    const random = seededRandom(10)
    const run = (median: number) => simulatedDocument([{ file: 'sim', bench: 'b', samples: lognormalSamples(random, 500, median, 0.2) }])
    const base = [run(1), run(1.04), run(0.97)]
    const head = [run(1.3), run(1.34), run(1.27)]
    const c = compareRuns(poolRounds(base), poolRounds(head), { rounds: { baseline: base, current: head } })
    expect(c.benches[0]!.verdict).toBe('regressed')
    expect(c.benches[0]!.metrics[0]!.rounds).toMatchObject({ total: 3, significant: true })
    expect(c.benches[0]!.reason).toMatch(/p < 0\.001, t = [\d.]+ across 3 rounds \(beyond 4\.604\)/)
  })
})
