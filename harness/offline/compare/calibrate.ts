/**
 * Proposing margins from repeated runs of the same code (scripts/bench-calibrate.ts).
 *
 * A margin must cover how far two runs of unchanged code can land apart. From N runs the suite
 * takes, per bench and metric, the standard deviation s of the metric between runs — of its
 * logarithm for the relative margin (a run that is 10 % slow is slow by a factor), of the value
 * for the absolute one — and proposes the one-sided 99 % prediction bound for the difference of
 * two future runs: t(0.99, N − 1) · √2 · s, times a safety factor (default 1: raise it for drift the
 * calibration runs did not see), rounded up, never below a floor. Student's t makes few runs
 * honest: from 3 runs the bound is 7.0 · √2 · s, from 5 runs 3.7 · √2 · s, from 10 runs 2.8 · √2 · s.
 * (The largest pairwise difference, the obvious alternative, underestimates the spread whenever a
 * handful of runs happens to land close together.) The largest pairwise difference is reported
 * alongside, for reading.
 */
import { entriesById } from './bench-id.ts'
import { BUILT_IN_MARGINS, COMPARED_METRICS, type ComparedMetric, type Margin } from './margins.ts'
import type { ResultsDocument } from '../../results/schema.ts'
import { studentQuantile } from './student-t.ts'

export interface CalibrationOptions {
  /** multiplies the prediction bound (default 1) */
  safety?: number
  /** the smallest margins proposed (default: 3 % / 0.05 ms for p50, 5 % / 0.1 ms for p95, 8 % / 0.2 ms for p99) */
  floors?: Record<ComparedMetric, Margin>
}

export interface MetricProposal {
  metric: ComparedMetric
  /** the metric in each run that measured the bench, ms */
  values: number[]
  /** largest pairwise |a − b| / min(a, b) */
  spreadRelative: number
  /** largest pairwise |a − b|, ms */
  spreadMs: number
  margin: Margin
}

export interface BenchProposal {
  file: string
  bench: string
  runs: number
  metrics: MetricProposal[]
  /** set when the proposed margin is so wide that the bench can hardly catch a regression */
  warning?: string
}

export const CALIBRATION_FLOORS: Readonly<Record<ComparedMetric, Margin>> = {
  p50: { relative: 0.03, absoluteMs: BUILT_IN_MARGINS.p50.absoluteMs },
  p95: { relative: 0.05, absoluteMs: BUILT_IN_MARGINS.p95.absoluteMs },
  p99: { relative: 0.08, absoluteMs: BUILT_IN_MARGINS.p99.absoluteMs },
}

export const DEFAULT_SAFETY = 1

/** The largest margins the margins file accepts (margins.ts): 1000 % and 10⁷ ms. */
export const MAX_RELATIVE_MARGIN = 10
export const MAX_ABSOLUTE_MARGIN_MS = 1e7

/** Above this proposed relative margin a bench is flagged as too noisy to gate on. */
export const NOISY_RELATIVE_MARGIN = 0.5

export function proposeMargins(runs: readonly ResultsDocument[], options: CalibrationOptions = {}): BenchProposal[] {
  const safety = options.safety ?? DEFAULT_SAFETY
  if (!(safety >= 1 && safety <= 10)) throw new RangeError(`calibration safety factor ${safety} must be within 1..10`)
  const floors = options.floors ?? CALIBRATION_FLOORS
  const perRun = runs.map((doc) => entriesById(doc.results))
  const ids = [...new Set(perRun.flatMap((m) => [...m.keys()]))]
  const proposals: BenchProposal[] = []
  for (const id of ids) {
    const entries = perRun.map((m) => m.get(id)).filter((e) => e !== undefined)
    if (entries.length < 2) continue
    const { file, bench } = entries[0]!
    const t = studentQuantile(0.99, entries.length - 1)
    const metrics = COMPARED_METRICS.map((metric): MetricProposal => {
      const values = entries.map((e) => e[metric])
      const bound = (sd: number) => t * Math.SQRT2 * sd * safety
      const relative = values.every((v) => v > 0) ? Math.expm1(bound(standardDeviation(values.map(Math.log)))) : Infinity
      // capped where the margins file stops accepting values: such a bench cannot gate anyway
      const margin = {
        relative: Math.min(MAX_RELATIVE_MARGIN, Math.max(floors[metric].relative, roundUp(relative, 2))),
        absoluteMs: Math.min(MAX_ABSOLUTE_MARGIN_MS, Math.max(floors[metric].absoluteMs, roundUp(bound(standardDeviation(values)), 3))),
      }
      return { metric, values, ...largestPairwiseDifference(values), margin }
    })
    const proposal: BenchProposal = { file, bench, runs: entries.length, metrics }
    const widest = Math.max(...metrics.map((m) => m.margin.relative))
    if (widest > NOISY_RELATIVE_MARGIN) {
      proposal.warning =
        `${file} > ${bench}: only a slowdown beyond ${widest >= MAX_RELATIVE_MARGIN ? '1000 % (or none at all)' : `${Math.round(widest * 100)} %`} could be flagged` +
        ` (runs differ by up to ${Math.round(Math.max(...metrics.map((m) => m.spreadRelative)) * 100)} %${entries.length < 5 ? `, and ${entries.length} runs say little` : ''});` +
        ' more runs, more samples or the interleaved A/B check help'
    }
    proposals.push(proposal)
  }
  return proposals
}

function largestPairwiseDifference(values: readonly number[]): { spreadRelative: number; spreadMs: number } {
  let spreadRelative = 0
  let spreadMs = 0
  for (let i = 0; i < values.length; i++) {
    for (let j = i + 1; j < values.length; j++) {
      const a = values[i]!
      const b = values[j]!
      spreadMs = Math.max(spreadMs, Math.abs(a - b))
      const low = Math.min(a, b)
      spreadRelative = Math.max(spreadRelative, low > 0 ? Math.abs(a - b) / low : a === b ? 0 : Infinity)
    }
  }
  return { spreadRelative, spreadMs }
}

/** Sample standard deviation (n − 1). */
function standardDeviation(values: readonly number[]): number {
  const mean = values.reduce((a, b) => a + b, 0) / values.length
  return Math.sqrt(values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / (values.length - 1))
}

/** Round up to `digits` decimals, so a proposed margin never falls below its bound. */
function roundUp(value: number, digits: number): number {
  if (!Number.isFinite(value)) return value
  const scale = 10 ** digits
  return Math.ceil(value * scale - 1e-9) / scale
}
