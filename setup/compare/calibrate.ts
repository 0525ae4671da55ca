/**
 * Proposing margins from repeated runs of the same code (scripts/bench-calibrate.ts). For each
 * bench and metric the run-to-run spread is the largest pairwise difference between runs —
 * relative (|a − b| / min(a, b)) and absolute — and the proposed margin is that spread times a
 * safety factor (default 1.5), rounded up, never below a floor. Spread between runs, not within a
 * run, is what a baseline comparison has to tolerate, so it sets the margin; the significance
 * test then guards against noise within the runs.
 */
import { entriesById } from './bench-id.ts'
import { BUILT_IN_MARGINS, COMPARED_METRICS, type ComparedMetric, type Margin } from './margins.ts'
import type { ResultsDocument } from '../results/schema.ts'

export interface CalibrationOptions {
  /** multiplies the observed spread (default 1.5) */
  safety?: number
  /** the smallest margins proposed (default: 3 % / 0.05 ms for p50, 5 % / 0.1 ms for p95) */
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
}

/** Above this proposed relative margin a bench is flagged as too noisy to gate on. */
export const NOISY_RELATIVE_MARGIN = 0.5

export function proposeMargins(runs: readonly ResultsDocument[], options: CalibrationOptions = {}): BenchProposal[] {
  const safety = options.safety ?? 1.5
  if (!(safety >= 1 && safety <= 10)) throw new RangeError(`calibration safety factor ${safety} must be within 1..10`)
  const floors = options.floors ?? CALIBRATION_FLOORS
  const perRun = runs.map((doc) => entriesById(doc.results))
  const ids = [...new Set(perRun.flatMap((m) => [...m.keys()]))]
  const proposals: BenchProposal[] = []
  for (const id of ids) {
    const entries = perRun.map((m) => m.get(id)).filter((e) => e !== undefined)
    if (entries.length < 2) continue
    const { file, bench } = entries[0]!
    const metrics = COMPARED_METRICS.map((metric): MetricProposal => {
      const values = entries.map((e) => e[metric])
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
      const margin = {
        relative: Math.max(floors[metric].relative, roundUp(spreadRelative * safety, 2)),
        absoluteMs: Math.max(floors[metric].absoluteMs, roundUp(spreadMs * safety, 3)),
      }
      return { metric, values, spreadRelative, spreadMs, margin }
    })
    const proposal: BenchProposal = { file, bench, runs: entries.length, metrics }
    const widest = Math.max(...metrics.map((m) => m.margin.relative))
    if (widest > NOISY_RELATIVE_MARGIN) {
      proposal.warning = `${file} > ${bench}: runs differ by up to ${Math.round(widest / safety * 100)} %, so only a slowdown beyond ${Math.round(widest * 100)} % can be flagged; consider more samples or the interleaved A/B check`
    }
    proposals.push(proposal)
  }
  return proposals
}

/** Round up to `digits` decimals, so a proposed margin is never below the spread it came from. */
function roundUp(value: number, digits: number): number {
  if (!Number.isFinite(value)) return value
  const scale = 10 ** digits
  return Math.ceil(value * scale - 1e-9) / scale
}
