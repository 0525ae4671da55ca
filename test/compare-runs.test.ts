/**
 * The verdict logic on constructed data with known truth. Runs are built as a real shared machine
 * makes them: every run slowed or sped up AS A WHOLE by the machine's phase (drift between runs,
 * and inside a pair), with samples from a seeded log-normal distribution inside it. The properties:
 *   - interleaved rounds: the paired design catches a consistent slowdown despite large drift
 *     between rounds, and passes identical code with that drift;
 *   - single runs: drift between two runs of the same code (issue 12: +14 % a minute apart) is not
 *     a regression under the default margins; a large slowdown still is;
 *   - only the headline metric of a gating bench fails a check; every verdict says how large a
 *     change it could have detected.
 * The proof on real reruns is npm run bench:power (docs/regression-checks.md).
 */
import { describe, expect, test } from 'vitest'
import { compareRuns, detectableSlowdown, gateRegressed, hasRegression, type Comparison } from '../harness/offline/compare/compare-runs.ts'
import { gateFor, HEADLINE_GATES, parseGates } from '../harness/offline/compare/gating.ts'
import { BASELINE_MARGINS, MarginBook, PAIRED_MARGINS } from '../harness/offline/compare/margins.ts'
import { pairedEffect } from '../harness/offline/compare/paired-effect.ts'
import { poolRounds } from '../harness/offline/compare/pool.ts'
import { runStatistic } from '../harness/offline/compare/run-statistic.ts'
import { seededRandom, type Random } from '../harness/offline/compare/seeded-random.ts'
import { lognormalSamples, normalDeviate, simulatedDocument, simulatedEntry, type SimulatedBench } from '../harness/offline/compare/simulate.ts'
import type { ResultsDocument } from '../harness/results/schema.ts'

const paired = new MarginBook(undefined, 'built-in paired margins', PAIRED_MARGINS)
const LINEAR = { file: 'e2e-latency', bench: 'e2e linear' }

/** One run of `e2e linear`: median × phase factor, 200 samples. */
function run(random: Random, median: number, n = 200, sigma = 0.35): ResultsDocument {
  return simulatedDocument([{ ...LINEAR, samples: lognormalSamples(random, n, median, sigma) }])
}

/**
 * R interleaved rounds: round r's phase swings the machine by `between` (log-sd), and inside the
 * pair base and head land `within` apart (log-sd) on top of the true `slowdown`.
 */
function rounds(random: Random, R: number, slowdown: number, between: number, within: number) {
  const baseline: ResultsDocument[] = []
  const current: ResultsDocument[] = []
  for (let r = 0; r < R; r++) {
    const phase = 20 * Math.exp(between * normalDeviate(random))
    baseline.push(run(random, phase * Math.exp(within * normalDeviate(random))))
    current.push(run(random, phase * slowdown * Math.exp(within * normalDeviate(random))))
  }
  return { baseline, current }
}

const abVerdict = (ab: ReturnType<typeof rounds>, margins = paired): Comparison =>
  compareRuns(poolRounds(ab.baseline), poolRounds(ab.current), { rounds: ab, margins, labels: { baseline: 'base', current: 'head' } })

describe('interleaved rounds: the effect within each base/head pair, combined over the pairs', () => {
  test('a consistent +20 % is flagged with 3 rounds although the rounds differ by up to 2× (the old t-test on round values could not)', () => {
    const random = seededRandom(11)
    let flagged = 0
    for (let i = 0; i < 100; i++) {
      const c = abVerdict(rounds(random, 3, 1.2, 0.35, 0.02))
      if (hasRegression(c)) flagged++
    }
    expect(flagged).toBeGreaterThanOrEqual(90)
    // one of them, explained in one line
    const c = abVerdict({
      baseline: [run(random, 20), run(random, 34), run(random, 13)],
      current: [run(random, 24), run(random, 40.8), run(random, 15.6)],
    })
    const row = c.benches[0]!
    expect(row.gate).toBe('p50')
    expect(row.verdict).toBe('regressed')
    expect(gateRegressed(row)).toBe(true)
    expect(row.reason).toMatch(/^p50 \+\d\d\.\d % \(\+\d\.\d+ ms\) over 3 paired rounds \(\+\d+ %, \+\d+ %, \+\d+ %\): z = [\d.]+ > [\d.]+, beyond the 10 % \/ 0\.050 ms margin/)
    // the pooled samples mix a 13 ms round with a 34 ms one: their spread hides the shift
    expect(c.benches[0]!.metrics[0]!.effect!.rounds).toBe(3)
  })

  test('identical code with large drift between rounds and some inside the pairs passes (false alarms < 5 %)', () => {
    const random = seededRandom(12)
    let flagged = 0
    for (let i = 0; i < 300; i++) if (hasRegression(abVerdict(rounds(random, 3, 1, 0.35, 0.03)))) flagged++
    expect(flagged / 300).toBeLessThan(0.05)
  })

  test('one disturbed pair does not make a regression: the rounds disagree, or the disagreement widens the noise', () => {
    const random = seededRandom(13)
    const ab = { baseline: [run(random, 20), run(random, 20), run(random, 20)], current: [run(random, 30), run(random, 19.6), run(random, 19.8)] }
    const c = abVerdict(ab)
    const p50 = c.benches[0]!.metrics[0]!
    expect(p50.effect!.heterogeneity).toBeGreaterThan(0)
    expect(p50.verdict).toBe('unchanged')
    expect(c.benches[0]!.reason).toMatch(/the rounds disagree on the direction|not beyond the noise/)
  })

  test('a speed-up is "improved", not a regression', () => {
    const random = seededRandom(14)
    const c = abVerdict(rounds(random, 3, 0.7, 0.3, 0.02))
    expect(c.benches[0]!.verdict).toBe('improved')
    expect(hasRegression(c)).toBe(false)
  })
})

describe('pairedEffect and the per-run statistic', () => {
  test('per-round log ratios, averaged; within-round variance from each run; pairs that disagree add τ²', () => {
    const stat = (value: number, logSe: number) => ({ value, logSe })
    const agree = pairedEffect([
      { base: stat(10, 0.02), head: stat(12, 0.02) },
      { base: stat(20, 0.02), head: stat(24, 0.02) },
    ])
    expect(agree.perRound.map((x) => Number(x.toFixed(6)))).toEqual([0.2, 0.2])
    expect(agree.relative).toBeCloseTo(0.2, 10)
    expect(agree.heterogeneity).toBe(0)
    expect(agree.logSe).toBeCloseTo(Math.sqrt(0.0008 / 2), 10)
    expect(agree.slower).toBe(2)
    const disagree = pairedEffect([
      { base: stat(10, 0.02), head: stat(15, 0.02) },
      { base: stat(10, 0.02), head: stat(10, 0.02) },
    ])
    const d = Math.log(1.5)
    expect(disagree.heterogeneity).toBeCloseTo((d / 2) ** 2 * 2 - 0.0008, 10)
    expect(disagree.logSe).toBeGreaterThan(agree.logSe * 5)
    expect(() => pairedEffect([])).toThrow(RangeError)
  })

  test('the run statistic is the entry’s metric; its uncertainty shrinks with more samples and is infinite without samples', () => {
    const random = seededRandom(15)
    const small = simulatedEntry({ file: 'f', bench: 'b', samples: lognormalSamples(random, 100, 10, 0.4) })
    const large = simulatedEntry({ file: 'f', bench: 'b', samples: lognormalSamples(random, 3000, 10, 0.4) })
    expect(runStatistic(small, 'p50').value).toBe(small.p50)
    expect(runStatistic(large, 'p50').logSe).toBeLessThan(runStatistic(small, 'p50').logSe / 2)
    expect(runStatistic(large, 'p99').logSe).toBeGreaterThan(runStatistic(large, 'p50').logSe)
    const { samples: _, ...bare } = small
    expect(runStatistic(bare, 'p50').logSe).toBe(Infinity)
  })
})

describe('single runs (bench:compare, BENCH_BASELINE): per-run statistics, drift left to the margins', () => {
  test('the same code a minute later, +14 % from drift (issue 12), is not a regression under the default margins; the output says they are wide', () => {
    const random = seededRandom(16)
    const c = compareRuns(run(random, 16), run(random, 16 * 1.14))
    expect(c.method.uncalibrated).toBe(true)
    expect(c.benches[0]!.verdict).toBe('unchanged')
    expect(c.benches[0]!.reason).toMatch(/^p50 \+\d+\.\d % .* run vs run: within the 25 % \/ 0\.050 ms margin; detectable ≥ \+\d+ %/)
    expect(hasRegression(c)).toBe(false)
  })

  test('ten runs of one code with whole-run drift on this machine’s scale: no pair flagged; a real +60 % still is', () => {
    const random = seededRandom(17)
    const drifting = (slowdown = 1) => run(random, 20 * slowdown * Math.exp(0.07 * normalDeviate(random)))
    const same = Array.from({ length: 10 }, () => drifting())
    let flagged = 0
    for (const a of same) for (const b of same) if (a !== b && hasRegression(compareRuns(a, b))) flagged++
    expect(flagged).toBe(0)
    let caught = 0
    for (const a of same) if (hasRegression(compareRuns(a, drifting(1.6)))) caught++
    expect(caught).toBeGreaterThanOrEqual(9)
  })

  test('calibrated margins decide where there are some: a tighter margin flags what the wide default lets through', () => {
    const random = seededRandom(18)
    const base = run(random, 20, 2000, 0.1)
    const head = run(random, 23, 2000, 0.1)
    expect(compareRuns(base, head).benches[0]!.verdict).toBe('unchanged')
    const calibrated = new MarginBook({ defaults: {}, benches: { 'e2e-latency': { 'e2e linear': { p50: { relative: 0.08 } } } } }, 'fixtures/margins.yaml')
    const c = compareRuns(base, head, { margins: calibrated })
    expect(c.method.uncalibrated).toBe(false)
    expect(c.benches[0]!.verdict).toBe('regressed')
  })
})

describe('gating and informing', () => {
  const random = seededRandom(19)
  const doc = (slow: Record<string, number> = {}) =>
    simulatedDocument(
      (
        [
          ['e2e-latency', 'e2e linear', 20],
          ['e2e-latency', 'e2e tree', 25],
          ['e2e-latency', 'linear: worker.execute', 0.5],
          ['task-initialization', 'create linear task', 5],
          ['sql-functions', 'get_step_readiness_status @100K', 2],
        ] as const
      ).map(([file, bench, median]): SimulatedBench => ({ file, bench, samples: lognormalSamples(random, 1000, median * (slow[bench] ?? 1), 0.2) })),
    )

  test('the headline benches gate on their metric; a regression elsewhere is reported but fails nothing', () => {
    const c = compareRuns(doc(), doc({ 'e2e tree': 2, 'linear: worker.execute': 2 }))
    const byName = Object.fromEntries(c.benches.map((b) => [b.bench, b]))
    expect(byName['e2e linear']!.gate).toBe('p50')
    expect(byName['create linear task']!.gate).toBe('p99')
    expect(byName['get_step_readiness_status @100K']!.gate).toBe('p50')
    expect(byName['e2e tree']!.gate).toBeUndefined()
    expect(byName['linear: worker.execute']!.gate).toBeUndefined()
    expect(byName['e2e tree']!.verdict).toBe('regressed')
    expect(byName['linear: worker.execute']!.verdict).toBe('regressed')
    expect(c.gating).toEqual({ benches: 3, regressed: 0 })
    expect(hasRegression(c)).toBe(false)
    const gated = compareRuns(doc(), doc({ 'e2e linear': 2 }))
    expect(gated.gating.regressed).toBe(1)
    expect(hasRegression(gated)).toBe(true)
  })

  test('BENCH_GATE adds gates (file/bench=metric, * as a wildcard); bad entries are one line naming the variable', () => {
    const gates = [...HEADLINE_GATES, ...parseGates('e2e-latency/e2e tree=p50; step-enqueueing/*=p95')]
    expect(gateFor({ file: 'e2e-latency', bench: 'e2e tree' }, gates)).toBe('p50')
    expect(gateFor({ file: 'step-enqueueing', bench: 'enqueue 3 root steps' }, gates)).toBe('p95')
    expect(gateFor({ file: 'sql-functions', bench: 'pgmq send @10K' }, gates)).toBeUndefined()
    expect(gateFor({ file: 'sql-functions', bench: 'pgmq send @100K' }, gates)).toBe('p50')
    expect(() => parseGates('e2e-latency/e2e tree')).toThrow(/^BENCH_GATE: "e2e-latency\/e2e tree" is not file\/bench=metric/)
    expect(() => parseGates('e2e-latency/e2e tree=p90')).toThrow(/p90 is not one of p50\|p95\|p99/)
    const c = compareRuns(doc(), doc({ 'e2e tree': 2 }), { gates })
    expect(hasRegression(c)).toBe(true)
  })

  test('"detectable" grows with noise and margin, and is stated for every compared metric', () => {
    expect(detectableSlowdown({ relative: 0.1, absoluteMs: 0 }, 20, 0.01, 2.8)).toBeCloseTo(Math.expm1(Math.log(1.1) + 1.2816 * 0.01), 3)
    expect(detectableSlowdown({ relative: 0.1, absoluteMs: 0 }, 20, 0.1, 2.8)).toBeCloseTo(Math.expm1(2.8 * 0.1 + 1.2816 * 0.1), 3)
    expect(detectableSlowdown({ relative: 0.1, absoluteMs: 0 }, 20, Infinity, 2.8)).toBe(Infinity)
    const random = seededRandom(20)
    const three = abVerdict(rounds(random, 3, 1, 0.3, 0.05)).benches[0]!.metrics[0]!
    expect(Number.isFinite(three.detectable)).toBe(true)
    expect(three.detectable).toBeGreaterThanOrEqual(PAIRED_MARGINS.p50.relative)
    const single = compareRuns(run(random, 20), run(random, 20)).benches[0]!.metrics[0]!
    expect(single.detectable).toBeGreaterThanOrEqual(BASELINE_MARGINS.p50.relative)
  })
})

describe('not comparable', () => {
  const random = seededRandom(7)
  const bench = (bench: string, n: number, median = 1): SimulatedBench => ({ file: 'sim', bench, samples: lognormalSamples(random, n, median, 0.3) })
  const verdicts = (c: Comparison) => Object.fromEntries(c.benches.map((b) => [b.bench, b.verdict]))

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

  test('p95 needs 100 samples a side and p99 200; the verdict then rests on the others', () => {
    const c = compareRuns(simulatedDocument([bench('b', 60)]), simulatedDocument([bench('b', 60)]))
    expect(c.benches[0]!.metrics.map((m) => [m.metric, m.verdict])).toEqual([
      ['p50', 'unchanged'],
      ['p95', 'not compared'],
      ['p99', 'not compared'],
    ])
    expect(c.benches[0]!.verdict).toBe('unchanged')
    const mid = compareRuns(simulatedDocument([bench('b', 150)]), simulatedDocument([bench('b', 150)]))
    expect(mid.benches[0]!.metrics.map((m) => m.verdict)).toEqual(['unchanged', 'unchanged', 'not compared'])
  })
})
