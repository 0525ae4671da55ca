/**
 * Comparing a run with a baseline, bench by bench. A metric (p50, p95) counts as regressed only
 * when all three hold:
 *   1. it is worse by more than the relative margin AND by more than the absolute margin
 *      (margins.ts), so a tiny or proportionally small change never fails a check;
 *   2. the difference is statistically significant on the retained samples: Mann–Whitney U for
 *      p50, a seeded bootstrap CI of the difference for p95, each at α/2 (Bonferroni), so a bench
 *      with both metrics is falsely flagged with probability at most α (default 0.01);
 *   3. with interleaved rounds (scripts/bench-ab.ts), the difference also stands out from the
 *      variation between runs: a two-sample t-test on the per-round values (log scale, runs as
 *      the unit, one-sided at α/2 per metric). Samples within one run share that run's luck — a busy
 *      neighbour, a slow disk — so the sample-level test alone would call any run-to-run drift
 *      significant; the rounds test is what judges drift. It needs 2 rounds or more.
 * Improvements are judged the same way in the other direction. A bench is "not comparable" when the
 * environments differ (unless told to ignore that), when it is missing on one side, when a side
 * has no retained samples, or when a side has fewer than 20 samples. p95 is compared only with at
 * least 100 samples on each side; with fewer the verdict rests on p50.
 */
import type { EnvironmentFingerprint } from '../environment.ts'
import type { ResultEntry, ResultsDocument } from '../results/schema.ts'
import { formatDeltaMs, formatMs, formatP, formatPercent } from '../report/format.ts'
import { entriesById } from './bench-id.ts'
import { bootstrapQuantileDifference, DEFAULT_RESAMPLES } from './bootstrap.ts'
import { environmentDifferences, type EnvironmentDifference } from './environment-match.ts'
import { mannWhitneyU } from './mann-whitney.ts'
import { COMPARED_METRICS, MarginBook, type ComparedMetric, type Margin } from './margins.ts'
import { seedFromText } from './seeded-random.ts'
import { studentQuantile, twoSampleT } from './student-t.ts'

export type Verdict = 'regressed' | 'improved' | 'unchanged' | 'not comparable'
export const VERDICTS: readonly Verdict[] = ['regressed', 'improved', 'unchanged', 'not comparable']

export interface SideStats {
  n: number
  mean: number
  p50: number
  p95: number
  p99: number
  max: number
  /** retained sample points (0 when the file kept none) */
  retained: number
}

export interface MetricComparison {
  metric: ComparedMetric
  baseline: number
  current: number
  /** current − baseline, ms */
  deltaMs: number
  /** (current − baseline) / baseline */
  relative: number
  margin: Margin
  /** worse or better by more than both margins */
  exceedsMargin: boolean
  test: 'mann-whitney' | 'bootstrap' | 'none'
  /** Mann–Whitney two-sided p-value */
  pValue?: number
  /** bootstrap CI of current − baseline, ms */
  interval?: { lower: number; upper: number; confidence: number }
  significant: boolean
  /** interleaved runs: the t-test of the per-round values (log scale), head vs base */
  rounds?: { total: number; t: number; critical: number; significant: boolean }
  verdict: 'regressed' | 'improved' | 'unchanged' | 'not compared'
  /** one line: why this verdict */
  note: string
}

export interface BenchComparison {
  id: string
  file: string
  bench: string
  verdict: Verdict
  /** one line: why this verdict */
  reason: string
  baseline?: SideStats
  current?: SideStats
  metrics: MetricComparison[]
}

export interface ComparisonOptions {
  margins?: MarginBook
  /** significance level per bench (default 0.01); each of the two metric tests uses α/2 */
  alpha?: number
  /** fewer samples than this on a side: not comparable (default 20) */
  minSamples?: number
  /** fewer samples than this on a side: p95 is not compared (default 100) */
  minSamplesP95?: number
  /** bootstrap resamples for p95 (default 2000) */
  resamples?: number
  /** bootstrap seed (default 1); each bench mixes in its id */
  seed?: number
  /** compare even when the environments differ (the differences are still reported) */
  ignoreEnvironment?: boolean
  /** the rounds of an interleaved A/B run, paired by index, for the agreement rule */
  rounds?: { baseline: readonly ResultsDocument[]; current: readonly ResultsDocument[] }
  labels?: { baseline: string; current: string }
}

export interface Comparison {
  kind: 'tasker-bench-comparison'
  version: 1
  labels: { baseline: string; current: string }
  environments: { baseline: EnvironmentFingerprint; current: EnvironmentFingerprint }
  environment: { comparable: boolean; ignored: boolean; differences: EnvironmentDifference[] }
  method: {
    alpha: number
    minSamples: number
    minSamplesP95: number
    resamples: number
    seed: number
    margins: string
    rounds?: number
  }
  benches: BenchComparison[]
  counts: Record<Verdict, number>
}

export const DEFAULT_ALPHA = 0.01
export const DEFAULT_MIN_SAMPLES = 20
export const DEFAULT_MIN_SAMPLES_P95 = 100

export function compareRuns(baseline: ResultsDocument, current: ResultsDocument, options: ComparisonOptions = {}): Comparison {
  const margins = options.margins ?? new MarginBook()
  const method = {
    alpha: options.alpha ?? DEFAULT_ALPHA,
    minSamples: options.minSamples ?? DEFAULT_MIN_SAMPLES,
    minSamplesP95: options.minSamplesP95 ?? DEFAULT_MIN_SAMPLES_P95,
    resamples: options.resamples ?? DEFAULT_RESAMPLES,
    seed: options.seed ?? 1,
    margins: margins.source,
    ...(options.rounds ? { rounds: Math.min(options.rounds.baseline.length, options.rounds.current.length) } : {}),
  }
  const differences = environmentDifferences(baseline.environment, current.environment)
  const ignored = Boolean(options.ignoreEnvironment)
  const comparable = differences.length === 0 || ignored

  const before = entriesById(baseline.results)
  const after = entriesById(current.results)
  const roundEntries = options.rounds && {
    baseline: options.rounds.baseline.map((d) => entriesById(d.results)),
    current: options.rounds.current.map((d) => entriesById(d.results)),
  }
  const ids = [...after.keys(), ...[...before.keys()].filter((id) => !after.has(id))]
  const benches = ids.map((id): BenchComparison => {
    const b = before.get(id)
    const c = after.get(id)
    const { file, bench } = (c ?? b)!
    const row: BenchComparison = { id, file, bench, verdict: 'not comparable', reason: '', metrics: [] }
    if (b) row.baseline = sideStats(b)
    if (c) row.current = sideStats(c)
    const problem = !comparable
      ? `environment differs: ${differences.map((d) => d.field).join(', ')}`
      : !b
        ? 'new: no baseline entry'
        : !c
          ? 'not measured in this run'
          : notComparableSamples(b, c, method.minSamples)
    if (problem) {
      row.reason = problem
      return row
    }
    for (const metric of COMPARED_METRICS) {
      const rounds = roundEntries && roundValues(roundEntries, id, metric)
      row.metrics.push(compareMetric(metric, b!, c!, margins.for(file, bench)[metric], method, seedFromText(id, method.seed), rounds))
    }
    row.verdict = benchVerdict(row.metrics)
    row.reason = benchReason(row)
    return row
  })

  const counts = Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<Verdict, number>
  for (const row of benches) counts[row.verdict]++
  return {
    kind: 'tasker-bench-comparison',
    version: 1,
    labels: options.labels ?? { baseline: 'baseline', current: 'current' },
    environments: { baseline: baseline.environment, current: current.environment },
    environment: { comparable, ignored: ignored && differences.length > 0, differences },
    method,
    benches,
    counts,
  }
}

export function hasRegression(comparison: Comparison): boolean {
  return comparison.counts.regressed > 0
}

function sideStats(e: ResultEntry): SideStats {
  return { n: e.n, mean: e.mean, p50: e.p50, p95: e.p95, p99: e.p99, max: e.max, retained: e.samples?.length ?? 0 }
}

function notComparableSamples(b: ResultEntry, c: ResultEntry, minSamples: number): string | undefined {
  if (!b.samples) return 'the baseline kept no samples (save a new baseline with this version)'
  if (!c.samples) return 'this run kept no samples'
  if (b.n < minSamples) return `only ${b.n} samples in the baseline, ${minSamples} needed`
  if (c.n < minSamples) return `only ${c.n} samples in this run, ${minSamples} needed`
  return undefined
}

interface Method {
  alpha: number
  minSamplesP95: number
  resamples: number
}

function compareMetric(
  metric: ComparedMetric,
  b: ResultEntry,
  c: ResultEntry,
  margin: Margin,
  method: Method,
  seed: number,
  rounds: Array<{ baseline: number; current: number }> | undefined,
): MetricComparison {
  const baseline = b[metric]
  const current = c[metric]
  const deltaMs = current - baseline
  const relative = baseline > 0 ? deltaMs / baseline : deltaMs === 0 ? 0 : Math.sign(deltaMs) * Infinity
  const exceedsMargin = Math.abs(deltaMs) > margin.absoluteMs && Math.abs(relative) > margin.relative
  const out: MetricComparison = { metric, baseline, current, deltaMs, relative, margin, exceedsMargin, test: 'none', significant: false, verdict: 'unchanged', note: '' }
  const change = `${metric} ${formatPercent(relative)} (${formatDeltaMs(deltaMs)})`

  if (metric === 'p95' && Math.min(b.n, c.n) < method.minSamplesP95) {
    out.verdict = 'not compared'
    out.note = `p95 not compared: fewer than ${method.minSamplesP95} samples on a side`
    return out
  }
  if (metric === 'p50') {
    const mw = mannWhitneyU(b.samples!, c.samples!)
    out.test = 'mann-whitney'
    out.pValue = mw.pValue
    // the rank test and the medians must agree on the direction
    out.significant = mw.pValue < method.alpha / COMPARED_METRICS.length && Math.sign(mw.probabilityOfSuperiority - 0.5) === Math.sign(deltaMs)
  } else {
    const confidence = 1 - method.alpha / COMPARED_METRICS.length
    const ci = bootstrapQuantileDifference(b.samples!, c.samples!, 0.95, { resamples: method.resamples, confidence, seed })
    out.test = 'bootstrap'
    out.interval = { lower: ci.lower, upper: ci.upper, confidence: ci.confidence }
    out.significant = (ci.lower > 0 && deltaMs > 0) || (ci.upper < 0 && deltaMs < 0)
  }
  const evidence = out.pValue !== undefined ? formatP(out.pValue) : `${Number((out.interval!.confidence * 100).toFixed(1))} % CI [${formatMs(out.interval!.lower)}, ${formatMs(out.interval!.upper)}] ms`

  if (rounds && rounds.length >= 2) out.rounds = roundsTest(rounds, deltaMs, method.alpha / COMPARED_METRICS.length)
  const roundsText = out.rounds && `t = ${formatT(out.rounds.t)} across ${out.rounds.total} rounds${out.rounds.significant ? ` (beyond ${out.rounds.critical})` : `, ${out.rounds.critical} needed`}`

  if (out.significant && out.exceedsMargin && (!out.rounds || out.rounds.significant)) {
    out.verdict = deltaMs > 0 ? 'regressed' : 'improved'
    out.note = `${change}, ${evidence}${roundsText ? `, ${roundsText}` : ''}`
  } else if (!out.exceedsMargin) {
    out.note = `${change} within margins (${formatPercent(margin.relative).replace('+', '±')} and ${formatMs(margin.absoluteMs)} ms)`
  } else if (!out.significant) {
    out.note = `${change} but not significant (${evidence})`
  } else {
    out.note = `${change} but within the variation between runs: ${roundsText}`
  }
  return out
}

/**
 * Runs as the unit: the per-round values of both sides (log scale: drift is a factor), Student's
 * two-sample t, significant when beyond t(1 − level, df) in the direction of the pooled difference.
 */
function roundsTest(rounds: ReadonlyArray<{ baseline: number; current: number }>, deltaMs: number, level: number): NonNullable<MetricComparison['rounds']> {
  const positive = rounds.every((r) => r.baseline > 0 && r.current > 0)
  const scale = positive ? Math.log : (v: number) => v
  const result = twoSampleT(rounds.map((r) => scale(r.baseline)), rounds.map((r) => scale(r.current)))
  const critical = Math.round(studentQuantile(1 - level, result.degreesOfFreedom) * 1000) / 1000
  return { total: rounds.length, t: result.t, critical, significant: deltaMs !== 0 && Math.sign(result.t) === Math.sign(deltaMs) && Math.abs(result.t) > critical }
}

const formatT = (t: number): string => (Number.isFinite(t) ? t.toFixed(2).replace('-', '−') : t > 0 ? '∞' : '−∞')

/** The metric in each round, paired by round index; rounds missing the bench on a side are skipped. */
function roundValues(
  rounds: { baseline: Map<string, ResultEntry>[]; current: Map<string, ResultEntry>[] },
  id: string,
  metric: ComparedMetric,
): Array<{ baseline: number; current: number }> {
  const out: Array<{ baseline: number; current: number }> = []
  const count = Math.min(rounds.baseline.length, rounds.current.length)
  for (let r = 0; r < count; r++) {
    const b = rounds.baseline[r]!.get(id)
    const c = rounds.current[r]!.get(id)
    if (b && c) out.push({ baseline: b[metric], current: c[metric] })
  }
  return out
}

function benchVerdict(metrics: readonly MetricComparison[]): Verdict {
  if (metrics.some((m) => m.verdict === 'regressed')) return 'regressed'
  if (metrics.some((m) => m.verdict === 'improved')) return 'improved'
  return 'unchanged'
}

function benchReason(row: BenchComparison): string {
  const decisive = row.metrics.filter((m) => m.verdict === row.verdict)
  if (decisive.length > 0) return decisive.map((m) => m.note).join('; ')
  return row.metrics.map((m) => m.note).join('; ')
}
