/**
 * Efficiency figures: how many times slower the system under test completes a workflow than the
 * floor (the thinnest correct pgmq + LISTEN/NOTIFY implementation of the same DAG), the peer
 * (graphile-worker) and the minimal chain (one process, a plain table: the least any correct
 * execution does), from samples taken interleaved in one run on one server.
 *
 * A figure is stored as a measurement named `efficiency <shape> e2e/<baseline>` whose summary
 * holds ratios instead of milliseconds: p50 = E2E p50 / baseline p50, p99 = E2E p99 / baseline
 * p99, and so on for every field, so the budget grammar applies unchanged:
 *
 *   baselines:
 *     efficiency linear e2e/floor:
 *       - p(50)<4
 *
 * Shared by the bench that records the figures, the reports that print them and the tests.
 */
import type { LatencySummary } from './percentiles.ts'
import { formatMs } from './format.ts'
import type { WorkMeasurement, WorkRatios } from './work.ts'

export type BaselineName = 'floor' | 'peer' | 'minimal'
const BASELINES: readonly BaselineName[] = ['floor', 'peer', 'minimal']

export const efficiencyName = (shape: string, baseline: BaselineName): string => `efficiency ${shape} e2e/${baseline}`
/** The benches of the same file whose p50, p95 … the figure divides: named here so the bench that records them and the comparison that reads them agree. */
export const interleavedE2eName = (shape: string): string => `e2e ${shape} (interleaved)`
export const baselineName = (shape: string, baseline: BaselineName): string => `${baseline} ${shape}`

/** What an efficiency measurement carries in its `extra`, besides the ratio summary. */
export interface EfficiencyExtra {
  unit: 'ratio'
  efficiency: {
    shape: string
    baseline: BaselineName
    e2e: { n: number; p50: number; p99: number }
    base: { n: number; p50: number; p99: number }
    /** work per task, E2E ÷ baseline, where both were counted (harness/results/work.ts): noise cannot move it */
    work?: WorkRatios
  }
}

/** E2E per task ÷ baseline per task for the counters the efficiency table shows. */
export function workRatios(e2e: WorkMeasurement, base: WorkMeasurement): WorkRatios {
  const out: WorkRatios = {}
  for (const k of ['statements', 'round_trips', 'wal_bytes', 'shared_blks'] as const) {
    const a = e2e.perTask[k]
    const b = base.perTask[k]
    if (a !== undefined && b !== undefined && b > 0) out[k] = Number((a / b).toPrecision(4))
  }
  return out
}

/** Every summary field of the E2E divided by the same field of the baseline. */
export function ratioSummary(e2e: LatencySummary, base: LatencySummary): LatencySummary {
  const ratio = (field: 'min' | 'max' | 'mean' | 'p50' | 'p75' | 'p90' | 'p95' | 'p99' | 'p999') => {
    if (!(base[field] > 0)) throw new RangeError(`efficiency: the baseline's ${field} is ${base[field]}; a ratio needs a positive duration`)
    return e2e[field] / base[field]
  }
  return {
    n: Math.min(e2e.n, base.n),
    min: ratio('min'),
    max: ratio('max'),
    mean: ratio('mean'),
    sd: 0, // a ratio of two summaries has no spread of its own
    p50: ratio('p50'),
    p75: ratio('p75'),
    p90: ratio('p90'),
    p95: ratio('p95'),
    p99: ratio('p99'),
    p999: ratio('p999'),
    p99Meaningful: e2e.p99Meaningful && base.p99Meaningful,
  }
}

export function efficiencyExtra(shape: string, baseline: BaselineName, e2e: LatencySummary, base: LatencySummary): EfficiencyExtra {
  return {
    unit: 'ratio',
    efficiency: { shape, baseline, e2e: { n: e2e.n, p50: e2e.p50, p99: e2e.p99 }, base: { n: base.n, p50: base.p50, p99: base.p99 } },
  }
}

export interface EfficiencyRow {
  shape: string
  e2e: { p50: number; p99: number; n: number }
  floor?: { p50: number; p99: number; work?: WorkRatios }
  peer?: { p50: number; p99: number; work?: WorkRatios }
  minimal?: { p50: number; p99: number; work?: WorkRatios }
}

/** The table's rows from measurements' extras (results entries or test meta), in first-seen shape order. */
export function efficiencyRows(entries: readonly { extra?: Record<string, unknown> }[]): EfficiencyRow[] {
  const rows = new Map<string, EfficiencyRow>()
  for (const entry of entries) {
    const e = (entry.extra as Partial<EfficiencyExtra> | undefined)?.efficiency
    if (!e || typeof e.shape !== 'string' || !BASELINES.includes(e.baseline as BaselineName)) continue
    const row = rows.get(e.shape) ?? { shape: e.shape, e2e: e.e2e }
    row[e.baseline] = { p50: e.base.p50, p99: e.base.p99, ...(e.work ? { work: e.work } : {}) }
    rows.set(e.shape, row)
  }
  return [...rows.values()]
}

const ms = formatMs
const times = (n: number) => `${n >= 10 ? n.toFixed(0) : n.toFixed(1)}×`

/**
 * A GitHub-flavoured table, readable in a terminal too: per shape the E2E, floor and peer
 * p50 / p99 (ms) and the ratios E2E / floor and E2E / peer; and the minimal chain's, the second
 * reference line, when the results have it (older results do not).
 */
export function efficiencyTable(rows: readonly EfficiencyRow[]): string[] {
  if (rows.length === 0) return []
  const pair = (a: number | undefined, b: number | undefined, f: (n: number) => string) => (a === undefined || b === undefined ? '—' : `${f(a)} / ${f(b)}`)
  const shown: BaselineName[] = rows.some((r) => r.minimal) ? ['floor', 'peer', 'minimal'] : ['floor', 'peer']
  const label = (b: BaselineName) => (b === 'minimal' ? 'minimal chain' : b)
  const withWork = rows.some((r) => shown.some((b) => r[b]?.work))
  const lines = [
    `| workflow | E2E p50 / p99 ms | ${shown.map((b) => `${label(b)} p50 / p99 ms`).join(' | ')} | ${shown.map((b) => `E2E÷${label(b)} p50 / p99`).join(' | ')} |${withWork ? shown.map((b) => ` E2E÷${label(b)} statements / WAL bytes per task |`).join('') : ''}`,
    `|---|--:|${shown.map(() => '--:|--:|').join('')}${withWork ? shown.map(() => '--:|').join('') : ''}`,
  ]
  for (const r of rows) {
    const ratio = (base: { p50: number; p99: number } | undefined) => (base ? pair(r.e2e.p50 / base.p50, r.e2e.p99 / base.p99, times) : '—')
    const work = (base: { work?: WorkRatios } | undefined) => pair(base?.work?.statements, base?.work?.wal_bytes, times)
    const latencies = shown.map((b) => pair(r[b]?.p50, r[b]?.p99, ms))
    lines.push(`| ${r.shape} | ${pair(r.e2e.p50, r.e2e.p99, ms)} | ${latencies.join(' | ')} | ${shown.map((b) => ratio(r[b])).join(' | ')} |${withWork ? shown.map((b) => ` ${work(r[b])} |`).join('') : ''}`)
  }
  return lines
}
