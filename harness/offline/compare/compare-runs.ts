/**
 * Comparing a run with a baseline, bench by bench, from per-run statistics — never from samples
 * pooled over runs: the samples of one run share that run's phase of the machine (a busy
 * neighbour, a slow disk), so a test on pooled samples takes drift between runs for a change in
 * code. (Two runs of the same commit a minute apart gave 26 "regressed" that way.)
 *
 * Per metric (p50, p95, p99) the effect is the log ratio head / base of the runs' statistics
 * (paired-effect.ts):
 *   - interleaved A/B rounds (scripts/bench-ab.ts): within each adjacent base/head pair, combined
 *     over the pairs, with the pairs' disagreement as part of the uncertainty;
 *   - two single runs (bench:compare, BENCH_BASELINE): the one pair.
 * A metric counts as regressed only when all of these hold:
 *   1. the effect exceeds the relative margin AND the change in ms exceeds the absolute margin
 *      (margins.ts: calibrated per bench, or defaults — wide for single runs, narrower for pairs);
 *   2. it stands out from the noise: z = effect / SE beyond Φ⁻¹(1 − α / (2·metrics)), a two-sided
 *      Bonferroni split of α (default 0.01) over the metrics compared;
 *   3. with two rounds or more, most rounds point the same way (head slower in more than half).
 * Improvements are judged the same way in the other direction. Each metric also states the
 * smallest slowdown it would flag with 90 % probability at its margins and noise ("detectable"), so
 * "unchanged" is never read as "proven equal".
 *
 * Gating (gating.ts): a bench with a headline metric fails the check only through that metric;
 * every other verdict informs. Work per task is judged first and apart (work-compare.ts): from one
 * run of each side (the first round of an A/B run), at tight margins, a gating bench whose
 * statements, round trips, rows… per task grew fails the check whatever its times say. A trace
 * phase that sees a gating E2E bench's change far more surely than its wall time is named in its
 * verdict (surer-witness.ts). A bench is "not comparable" when the environments differ (unless
 * told to ignore that), when it is missing on one side, when a side kept no samples, or when a
 * side has fewer than 20 samples. p95 is compared only with at least 100 samples on each side,
 * p99 only with at least 200.
 */
import type { EnvironmentFingerprint } from '../../results/environment.ts'
import type { ResultEntry, ResultsDocument } from '../../results/schema.ts'
import { formatDeltaMs, formatMs, formatPercent } from '../../results/format.ts'
import { benchId, entriesById } from './bench-id.ts'
import { environmentDifferences, type EnvironmentDifference } from './environment-match.ts'
import { findGate, HEADLINE_GATES, type Gate } from './gating.ts'
import { COMPARED_METRICS, MarginBook, type ComparedMetric, type Margin } from './margins.ts'
import { normalQuantile } from './normal.ts'
import { pairedEffect, type PairedEffect } from './paired-effect.ts'
import { runStatistic } from './run-statistic.ts'
import { isNormalized, normalizedBaseline, normalizedProblem, normalizedStatistic } from './normalized-statistic.ts'
import { addSurerWitnesses, type Witness } from './surer-witness.ts'
import { compareWork, workRegressed, type WorkComparison } from './work-compare.ts'

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
  /** the metric of each side as shown (pooled over the rounds of an A/B run) */
  baseline: number
  current: number
  /** the estimated change in ms: baseline × relative */
  deltaMs: number
  /** the estimated relative change from per-run statistics (A/B: combined over the pairs) */
  relative: number
  margin: Margin
  /** worse or better by more than both margins */
  exceedsMargin: boolean
  /** the estimate behind `relative`: per-round effects, SE, z */
  effect?: PairedEffect
  /** |z| needed */
  critical: number
  /** beyond the noise (z) and, with ≥ 2 rounds, most rounds agree on the direction */
  significant: boolean
  /** the smallest slowdown (fraction) flagged with 90 % probability at this margin and noise */
  detectable: number
  verdict: 'regressed' | 'improved' | 'unchanged' | 'not compared'
  /** one line: why this verdict */
  note: string
}

export interface BenchComparison {
  id: string
  file: string
  bench: string
  verdict: Verdict
  /** the metric whose regression fails the check; undefined: this bench only informs */
  gate?: ComparedMetric
  /** two single runs: this headline bench informs, its drift-normalized figure (this id) gates instead */
  gatedBy?: string
  /** a drift-normalized figure (E2E / floor of the same run; normalized-statistic.ts) */
  normalized?: boolean
  /** one line: why this verdict */
  reason: string
  baseline?: SideStats
  current?: SideStats
  metrics: MetricComparison[]
  /** trace phases that see this gating E2E bench's change far more surely (surer-witness.ts) */
  witnesses?: Witness[]
}

export interface ComparisonOptions {
  margins?: MarginBook
  /** significance level per bench (default 0.01), split over the metrics compared */
  alpha?: number
  /** fewer samples than this on a side: not comparable (default 20) */
  minSamples?: number
  /** fewer samples than this on a side: p95 is not compared (default 100) */
  minSamplesP95?: number
  /** fewer samples than this on a side: p99 is not compared (default 200) */
  minSamplesP99?: number
  /** compare even when the environments differ (the differences are still reported) */
  ignoreEnvironment?: boolean
  /** the rounds of an interleaved A/B run, paired by index: the effect is estimated within pairs */
  rounds?: { baseline: readonly ResultsDocument[]; current: readonly ResultsDocument[] }
  /** benches that gate (default: HEADLINE_GATES) */
  gates?: readonly Gate[]
  labels?: { baseline: string; current: string }
}

export interface Comparison {
  kind: 'tasker-bench-comparison'
  version: 2
  labels: { baseline: string; current: string }
  environments: { baseline: EnvironmentFingerprint; current: EnvironmentFingerprint }
  environment: { comparable: boolean; ignored: boolean; differences: EnvironmentDifference[] }
  method: {
    alpha: number
    minSamples: number
    minSamplesP95: number
    minSamplesP99: number
    /** where the margins came from: a file, or "built-in" */
    margins: string
    /** only the built-in defaults decided (no calibration data) */
    uncalibrated: boolean
    /** the built-in defaults in force, for the note on uncalibrated margins */
    builtIn: Record<ComparedMetric, Margin>
    /** paired rounds (A/B); absent for two single runs */
    rounds?: number
  }
  benches: BenchComparison[]
  counts: Record<Verdict, number>
  /** gating benches that regressed on their gating metric: these fail the check */
  gating: { benches: number; regressed: number }
  /** work per task, base vs head from one run each (absent when neither side counted work) */
  work?: WorkComparison
}

export const DEFAULT_ALPHA = 0.01
export const DEFAULT_MIN_SAMPLES = 20
export const DEFAULT_MIN_SAMPLES_P95 = 100
export const DEFAULT_MIN_SAMPLES_P99 = 200
/** the power at which "detectable" is stated */
export const DETECTION_POWER = 0.9

export function compareRuns(baseline: ResultsDocument, current: ResultsDocument, options: ComparisonOptions = {}): Comparison {
  const margins = options.margins ?? new MarginBook()
  const gates = options.gates ?? HEADLINE_GATES
  const rounds = options.rounds && Math.min(options.rounds.baseline.length, options.rounds.current.length) > 0 ? options.rounds : undefined
  const method: Comparison['method'] = {
    alpha: options.alpha ?? DEFAULT_ALPHA,
    minSamples: options.minSamples ?? DEFAULT_MIN_SAMPLES,
    minSamplesP95: options.minSamplesP95 ?? DEFAULT_MIN_SAMPLES_P95,
    minSamplesP99: options.minSamplesP99 ?? DEFAULT_MIN_SAMPLES_P99,
    margins: margins.source,
    uncalibrated: margins.uncalibrated,
    builtIn: { ...margins.builtIn },
    ...(rounds ? { rounds: Math.min(rounds.baseline.length, rounds.current.length) } : {}),
  }
  const differences = environmentDifferences(baseline.environment, current.environment)
  const ignored = Boolean(options.ignoreEnvironment)
  const comparable = differences.length === 0 || ignored

  const before = entriesById(baseline.results)
  const after = entriesById(current.results)
  const roundEntries = rounds && {
    baseline: rounds.baseline.map((d) => entriesById(d.results)),
    current: rounds.current.map((d) => entriesById(d.results)),
  }
  const ids = [...after.keys(), ...[...before.keys()].filter((id) => !after.has(id))]
  // two single runs: a gate with a drift-normalized figure on both sides is decided by that figure
  const normalizedGates = roundEntries ? new Map<string, Gate>() : usableNormalizedGates(gates, before, after)
  const benches = ids.map((id): BenchComparison => {
    const b = before.get(id)
    const c = after.get(id)
    const { file, bench } = (c ?? b)!
    const normalized = isNormalized((c ?? b)!)
    const ownGate = findGate({ file, bench }, gates)
    const deferred = ownGate?.normalizedBy !== undefined && normalizedGates.has(ownGate.normalizedBy)
    const gate = deferred ? undefined : (normalizedGates.get(id)?.metric ?? ownGate?.metric)
    const row: BenchComparison = { id, file, bench, verdict: 'not comparable', ...(gate ? { gate } : {}), ...(deferred ? { gatedBy: ownGate!.normalizedBy! } : {}), ...(normalized ? { normalized: true } : {}), reason: '', metrics: [] }
    if (b) row.baseline = sideStats(b)
    if (c) row.current = sideStats(c)
    const problem = !comparable
      ? `environment differs: ${differences.map((d) => d.field).join(', ')}`
      : !b
        ? 'new: no baseline entry'
        : !c
          ? 'not measured in this run'
          : normalized
            ? notComparableNormalized(b, c, before, after, roundEntries, method.minSamples)
            : notComparableSamples(b, c, method.minSamples)
    if (problem) {
      row.reason = problem
      return row
    }
    const pairs = roundEntries ? roundPairs(roundEntries, id) : [{ base: b!, head: c!, baseRun: before, headRun: after }]
    const compared = COMPARED_METRICS.filter((m) => enoughFor(m, Math.min(b!.n, c!.n), method))
    for (const metric of COMPARED_METRICS) {
      const margin = margins.for(file, bench, normalized)[metric]
      row.metrics.push(
        compared.includes(metric)
          ? compareMetric(metric, b!, c!, pairs, margin, method.alpha / compared.length, Boolean(roundEntries), normalized)
          : notCompared(metric, b!, c!, margin, method),
      )
    }
    row.verdict = benchVerdict(row.metrics)
    row.reason = benchReason(row)
    if (!roundEntries && gate && ownGate?.normalizedBy && !deferred) {
      row.reason += `; judged raw between single runs at the wide margin: "${ownGate.normalizedBy}" is not in both runs (run benchmarks/baselines.bench.ts too for a drift-normalized verdict)`
    }
    return row
  })

  addSurerWitnesses(benches)
  // work from one run of each side: the first round of an A/B run
  const work = comparable ? compareWork(rounds?.baseline[0] ?? baseline, rounds?.current[0] ?? current, gates) : undefined
  const counts = Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<Verdict, number>
  for (const row of benches) counts[row.verdict]++
  const gating = benches.filter((b) => b.gate)
  return {
    kind: 'tasker-bench-comparison',
    version: 2,
    labels: options.labels ?? { baseline: 'baseline', current: 'current' },
    environments: { baseline: baseline.environment, current: current.environment },
    environment: { comparable, ignored: ignored && differences.length > 0, differences },
    method,
    benches,
    counts,
    gating: { benches: gating.length, regressed: gating.filter(gateRegressed).length },
    ...(work && (work.benches.length > 0 || work.oneSided.length > 0) ? { work } : {}),
  }
}

/** A regression of a gating bench's gating metric, or of its work per task: what fails the check. */
export function hasRegression(comparison: Comparison): boolean {
  return comparison.gating.regressed > 0 || workRegressed(comparison.work)
}

export function gateRegressed(row: BenchComparison): boolean {
  return row.gate !== undefined && row.metrics.some((m) => m.metric === row.gate && m.verdict === 'regressed')
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

function enoughFor(metric: ComparedMetric, n: number, method: Comparison['method']): boolean {
  return metric === 'p50' || (metric === 'p95' ? n >= method.minSamplesP95 : n >= method.minSamplesP99)
}

function notCompared(metric: ComparedMetric, b: ResultEntry, c: ResultEntry, margin: Margin, method: Comparison['method']): MetricComparison {
  const needed = metric === 'p95' ? method.minSamplesP95 : method.minSamplesP99
  const deltaMs = c[metric] - b[metric]
  return {
    metric,
    baseline: b[metric],
    current: c[metric],
    deltaMs,
    relative: b[metric] > 0 ? deltaMs / b[metric] : 0,
    margin,
    exceedsMargin: false,
    critical: 0,
    significant: false,
    detectable: Infinity,
    verdict: 'not compared',
    note: `${metric} not compared: fewer than ${needed} samples on a side`,
  }
}

function compareMetric(
  metric: ComparedMetric,
  b: ResultEntry,
  c: ResultEntry,
  pairs: readonly RunPair[],
  margin: Margin,
  level: number,
  paired: boolean,
  normalized: boolean,
): MetricComparison {
  const baseline = b[metric]
  const current = c[metric]
  const critical = round3(normalQuantile(1 - level / 2))
  const stat = (entry: ResultEntry, run: ReadonlyMap<string, ResultEntry>) => (normalized ? normalizedStatistic(entry, run, metric) : runStatistic(entry, metric))
  const effect = pairs.length > 0 ? tryPairedEffect(pairs.map((p) => ({ base: stat(p.base, p.baseRun), head: stat(p.head, p.headRun) }))) : undefined
  const relative = effect ? effect.relative : baseline > 0 ? current / baseline - 1 : 0
  const deltaMs = baseline * relative
  const exceedsMargin = Math.abs(deltaMs) > margin.absoluteMs && Math.abs(relative) > margin.relative
  const majority = !effect || effect.rounds < 2 || (relative > 0 ? effect.slower : effect.rounds - effect.slower) * 2 > effect.rounds
  const beyondNoise = effect !== undefined && Math.abs(effect.z) > critical
  const significant = beyondNoise && majority
  const detectable = effect ? detectableSlowdown(margin, baseline, effect.logSe, critical) : Infinity
  const out: MetricComparison = { metric, baseline, current, deltaMs, relative, margin, exceedsMargin, critical, significant, detectable, verdict: 'unchanged', note: '', ...(effect ? { effect } : {}) }

  const change = `${metric} ${formatPercent(relative)} (${normalized ? formatDeltaRatio(deltaMs) : formatDeltaMs(deltaMs)})`
  const basis = !effect
    ? 'no usable values'
    : paired
      ? `over ${effect.rounds} paired round${effect.rounds === 1 ? '' : 's'} (${effect.perRound.map(formatWholePercent).join(', ')})`
      : normalized
        ? `run vs run, each divided by its own ${normalizedBaseline(c)}`
        : 'run vs run'
  const evidence = effect ? `z = ${formatZ(effect.z)}${beyondNoise ? ` > ${critical}` : `, ${critical} needed`}` : ''
  const detect = `detectable ≥ ${formatDetectable(detectable)}`
  if (significant && exceedsMargin) {
    out.verdict = relative > 0 ? 'regressed' : 'improved'
    out.note = `${change} ${basis}: ${evidence}, beyond the ${formatMargin(margin)} margin`
  } else if (!exceedsMargin) {
    out.note = `${change} ${basis}: within the ${formatMargin(margin)} margin; ${detect}`
  } else if (!beyondNoise) {
    out.note = `${change} ${basis}: not beyond the noise (${evidence}); ${detect}`
  } else {
    out.note = `${change} ${basis}: the rounds disagree on the direction; ${detect}`
  }
  return out
}

function tryPairedEffect(pairs: Parameters<typeof pairedEffect>[0]): PairedEffect | undefined {
  try {
    return pairedEffect(pairs)
  } catch {
    return undefined
  }
}

/**
 * The smallest slowdown flagged with DETECTION_POWER probability: the estimate must clear both the
 * margin and z·SE, and it scatters around the true effect with SE, so the true effect must lie
 * Φ⁻¹(power)·SE above the larger of the two (log scale).
 */
export function detectableSlowdown(margin: Margin, baselineMs: number, logSe: number, critical: number): number {
  if (!Number.isFinite(logSe)) return Infinity
  const marginLog = Math.max(Math.log1p(margin.relative), baselineMs > 0 ? Math.log1p(margin.absoluteMs / baselineMs) : 0)
  return Math.expm1(Math.max(marginLog, critical * logSe) + normalQuantile(DETECTION_POWER) * logSe)
}

/** One base/head pair of a bench, with the runs it came from (a normalized figure reads its components there). */
interface RunPair {
  base: ResultEntry
  head: ResultEntry
  baseRun: ReadonlyMap<string, ResultEntry>
  headRun: ReadonlyMap<string, ResultEntry>
}

/** Base and head entries of the bench in each round, paired by round index. */
function roundPairs(rounds: { baseline: Map<string, ResultEntry>[]; current: Map<string, ResultEntry>[] }, id: string): RunPair[] {
  const out: RunPair[] = []
  const count = Math.min(rounds.baseline.length, rounds.current.length)
  for (let r = 0; r < count; r++) {
    const baseRun = rounds.baseline[r]!
    const headRun = rounds.current[r]!
    const base = baseRun.get(id)
    const head = headRun.get(id)
    if (base && head) out.push({ base, head, baseRun, headRun })
  }
  return out
}

/**
 * Gates whose drift-normalized figure can decide between two single runs: the figure is in both
 * runs with what it divides. Keyed by the figure's id.
 */
function usableNormalizedGates(gates: readonly Gate[], before: ReadonlyMap<string, ResultEntry>, after: ReadonlyMap<string, ResultEntry>): Map<string, Gate> {
  const out = new Map<string, Gate>()
  for (const g of gates) {
    if (!g.normalizedBy) continue
    const b = before.get(g.normalizedBy)
    const c = after.get(g.normalizedBy)
    if (b && c && !normalizedProblem(b, before, 'baseline') && !normalizedProblem(c, after, 'current')) out.set(g.normalizedBy, g)
  }
  return out
}

function notComparableNormalized(
  b: ResultEntry,
  c: ResultEntry,
  before: ReadonlyMap<string, ResultEntry>,
  after: ReadonlyMap<string, ResultEntry>,
  rounds: { baseline: Map<string, ResultEntry>[]; current: Map<string, ResultEntry>[] } | undefined,
  minSamples: number,
): string | undefined {
  const problem = normalizedProblem(b, before, 'baseline') ?? normalizedProblem(c, after, 'current')
  if (problem) return problem
  for (const [r, run] of (rounds?.baseline ?? []).entries()) {
    const entry = run.get(benchId(b))
    const p = entry && normalizedProblem(entry, run, `baseline round ${r + 1}`)
    if (p) return p
  }
  for (const [r, run] of (rounds?.current ?? []).entries()) {
    const entry = run.get(benchId(c))
    const p = entry && normalizedProblem(entry, run, `current round ${r + 1}`)
    if (p) return p
  }
  if (b.n < minSamples) return `only ${b.n} samples in the baseline, ${minSamples} needed`
  if (c.n < minSamples) return `only ${c.n} samples in this run, ${minSamples} needed`
  return undefined
}

function benchVerdict(metrics: readonly MetricComparison[]): Verdict {
  if (metrics.some((m) => m.verdict === 'regressed')) return 'regressed'
  if (metrics.some((m) => m.verdict === 'improved')) return 'improved'
  return 'unchanged'
}

/** The gating metric's note first (it decides), then the decisive ones. */
function benchReason(row: BenchComparison): string {
  const decisive = row.metrics.filter((m) => m.verdict === row.verdict)
  const shown = decisive.length > 0 ? decisive : row.metrics.filter((m) => m.verdict !== 'not compared')
  const gate = row.metrics.find((m) => m.metric === row.gate)
  const ordered = gate ? [gate, ...shown.filter((m) => m !== gate)] : shown
  const notes = (ordered.length > 0 ? ordered : row.metrics).map((m) => m.note).join('; ')
  return row.gatedBy ? `${notes}; informs only: between single runs its drift-normalized figure "${row.gatedBy}" gates` : notes
}

const formatWholePercent = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(Math.round(x * 100))} %`
const round3 = (x: number) => Math.round(x * 1000) / 1000
const formatZ = (z: number): string => (Number.isFinite(z) ? z.toFixed(2).replace('-', '−') : z > 0 ? '∞' : '−∞')
const formatMargin = (m: Margin): string => `${Number((m.relative * 100).toFixed(1))} %${m.absoluteMs > 0 ? ` / ${formatMs(m.absoluteMs)} ms` : ''}`
const formatDeltaRatio = (d: number): string => `${d > 0 ? '+' : d < 0 ? '−' : '±'}${Math.abs(d).toFixed(2)}×`
export const formatDetectable = (d: number): string => (Number.isFinite(d) ? `+${Math.ceil(d * 100)} %` : '—')
