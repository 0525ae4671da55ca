/**
 * Inline SVG charts for the HTML report, generated here so the report needs no script, library,
 * font or network: a latency histogram (the bulk of the distribution, up to the larger p99) and a
 * CDF (the whole range). Latency is right-skewed, so x is logarithmic whenever the range spans a
 * factor of 5 or more (the histogram's bins are then equally wide on the log axis): otherwise the
 * bulk would be squeezed into the first few pixels by the tail.
 * The current run is drawn in blue, the baseline in orange and dashed: two hues that stay apart
 * for the common colour-vision deficiencies, and a line style that survives greyscale printing.
 */
import { percentile } from '../../results/percentiles.ts'
import { escapeHtml } from './escape-html.ts'

export interface ChartSeries {
  /** ascending samples, ms */
  sorted: readonly number[]
  label: string
}

export interface ChartInput {
  current: ChartSeries
  baseline?: ChartSeries
  /** accessible name of the chart */
  title: string
}

export const CURRENT_COLOR = '#1d4ed8'
export const BASELINE_COLOR = '#c2410c'

const WIDTH = 560
const HEIGHT = 250
/** the right padding leaves room for the CDF's p50/p95/p99 labels */
const PAD = { left: 52, right: 34, top: 18, bottom: 42 }
const PLOT_W = WIDTH - PAD.left - PAD.right
const PLOT_H = HEIGHT - PAD.top - PAD.bottom

export interface HistogramResult {
  svg: string
  /** the x range drawn, ms */
  range: [number, number]
  /** whether x is on a log scale (then the bins are equally wide on it) */
  log: boolean
  bins: number
  /** samples above the range, per series (current first) */
  clipped: number[]
}

/** An x axis over [lo, hi] ms, logarithmic when the range spans a factor of 5 or more. */
interface Axis {
  lo: number
  hi: number
  log: boolean
  /** ms → 0..1 across the plot */
  unit(v: number): number
  /** 0..1 → ms */
  value(u: number): number
  ticks(): number[]
}

function latencyAxis(lo: number, hi: number): Axis {
  if (!(hi > lo)) {
    const pad = Math.max(Math.abs(lo) * 0.05, 0.001)
    lo -= pad
    hi += pad
  }
  if (lo > 0 && hi / lo >= 5) {
    const a = Math.log10(lo)
    const b = Math.log10(hi)
    return { lo, hi, log: true, unit: (v) => (Math.log10(v) - a) / (b - a), value: (u) => 10 ** (a + u * (b - a)), ticks: () => logTicks(lo, hi) }
  }
  return { lo, hi, log: false, unit: (v) => (v - lo) / (hi - lo), value: (u) => lo + u * (hi - lo), ticks: () => linearTicks(lo, hi, 6) }
}

export function histogramSvg(input: ChartInput): HistogramResult {
  const series = [input.current, ...(input.baseline ? [input.baseline] : [])]
  const axis = latencyAxis(Math.min(...series.map((s) => s.sorted[0]!)), Math.max(...series.map((s) => percentile(s.sorted, 99))))
  // Rice's rule (2.5·∛n here, 10..40): fine bins for thousands of samples, coarse ones for a dozen
  const smallest = Math.min(...series.map((s) => s.sorted.length))
  const bins = Math.max(10, Math.min(40, Math.ceil(2.5 * Math.cbrt(smallest))))
  const densities = series.map((s) => {
    const counts = new Array<number>(bins).fill(0)
    let above = 0
    for (const v of s.sorted) {
      if (v > axis.hi) above++
      else counts[Math.min(bins - 1, Math.max(0, Math.floor(axis.unit(v) * bins)))]!++
    }
    return { shares: counts.map((c) => c / s.sorted.length), above }
  })
  const top = niceCeil(Math.max(...densities.flatMap((d) => d.shares)) * 1.08)
  const x = (v: number) => PAD.left + axis.unit(v) * PLOT_W
  const edge = (i: number) => PAD.left + (i / bins) * PLOT_W
  const y = (share: number) => PAD.top + PLOT_H - (share / top) * PLOT_H

  const parts: string[] = [open(input.title)]
  const xTicks = axis.ticks().map((t) => ({ at: x(t), label: tickLabel(t) }))
  const yTicks = linearTicks(0, top, 4).map((t) => ({ at: y(t), label: `${Math.round(t * 1000) / 10} %` }))
  parts.push(gridAndAxes(xTicks, yTicks, `latency (ms${axis.log ? ', log scale' : ''})`, 'share of samples'))
  // current run: bars
  const bars = densities[0]!.shares
    .map((share, i) => (share > 0 ? `<rect x="${f(edge(i) + 0.5)}" y="${f(y(share))}" width="${f(Math.max(0.5, PLOT_W / bins - 1))}" height="${f(PAD.top + PLOT_H - y(share))}"/>` : ''))
    .join('')
  parts.push(`<g fill="${CURRENT_COLOR}" fill-opacity="0.55">${bars}</g>`)
  // baseline: a step outline over the same bins
  if (densities[1]) {
    let d = `M${f(edge(0))},${f(y(0))}`
    densities[1].shares.forEach((share, i) => {
      d += ` L${f(edge(i))},${f(y(share))} L${f(edge(i + 1))},${f(y(share))}`
    })
    d += ` L${f(edge(bins))},${f(y(0))}`
    parts.push(`<path d="${d}" fill="none" stroke="${BASELINE_COLOR}" stroke-width="2" stroke-dasharray="5 3"/>`)
  }
  // the current run's p50 and p95
  for (const [label, p] of [['p50', 50], ['p95', 95]] as const) {
    const v = percentile(input.current.sorted, p)
    if (v < axis.lo || v > axis.hi) continue
    parts.push(`<line x1="${f(x(v))}" x2="${f(x(v))}" y1="${PAD.top}" y2="${PAD.top + PLOT_H}" stroke="#111827" stroke-width="1" stroke-dasharray="2 3"/>`)
    parts.push(`<text x="${f(x(v) + 3)}" y="${PAD.top + 10}" class="mark">${label}</text>`)
  }
  parts.push('</svg>')
  return { svg: parts.join(''), range: [axis.lo, axis.hi], log: axis.log, bins, clipped: densities.map((d) => d.above) }
}

export function cdfSvg(input: ChartInput): string {
  const series = [input.current, ...(input.baseline ? [input.baseline] : [])]
  const axis = latencyAxis(Math.min(...series.map((s) => s.sorted[0]!)), Math.max(...series.map((s) => s.sorted[s.sorted.length - 1]!)))
  const x = (v: number) => PAD.left + axis.unit(v) * PLOT_W
  const y = (p: number) => PAD.top + PLOT_H - p * PLOT_H
  const xTicks = axis.ticks().map((t) => ({ at: x(t), label: tickLabel(t) }))
  const yTicks = [0, 0.25, 0.5, 0.75, 1].map((p) => ({ at: y(p), label: `${p * 100} %` }))

  const parts: string[] = [open(input.title)]
  parts.push(gridAndAxes(xTicks, yTicks, `latency (ms${axis.log ? ', log scale' : ''})`, 'samples at or below'))
  for (const [label, p] of [['p50', 0.5], ['p95', 0.95], ['p99', 0.99]] as const) {
    parts.push(`<line x1="${PAD.left}" x2="${PAD.left + PLOT_W}" y1="${f(y(p))}" y2="${f(y(p))}" stroke="#9ca3af" stroke-width="0.75" stroke-dasharray="1 3"/>`)
    // p95 and p99 lie 4 % apart: put p95's label under its line and the others above theirs
    parts.push(`<text x="${PAD.left + PLOT_W + 4}" y="${f(y(p) + (p === 0.95 ? 9 : -1))}" class="mark">${label}</text>`)
  }
  const line = (s: ChartSeries, color: string, dashed: boolean) => {
    const points: string[] = []
    const steps = Math.min(300, s.sorted.length)
    for (let k = 0; k < steps; k++) {
      const p = steps === 1 ? 1 : k / (steps - 1)
      points.push(`${f(x(percentile(s.sorted, p * 100)))},${f(y(p))}`)
    }
    return `<polyline points="${points.join(' ')}" fill="none" stroke="${color}" stroke-width="2"${dashed ? ' stroke-dasharray="5 3"' : ''} stroke-linejoin="round"/>`
  }
  if (input.baseline) parts.push(line(input.baseline, BASELINE_COLOR, true))
  parts.push(line(input.current, CURRENT_COLOR, false))
  parts.push('</svg>')
  return parts.join('')
}

function open(title: string): string {
  return `<svg viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="${escapeHtml(title)}"><title>${escapeHtml(title)}</title>`
}

function gridAndAxes(xTicks: Array<{ at: number; label: string }>, yTicks: Array<{ at: number; label: string }>, xLabel: string, yLabel: string): string {
  const parts: string[] = []
  for (const t of yTicks) {
    parts.push(`<line x1="${PAD.left}" x2="${PAD.left + PLOT_W}" y1="${f(t.at)}" y2="${f(t.at)}" stroke="#e5e7eb"/>`)
    parts.push(`<text x="${PAD.left - 6}" y="${f(t.at + 3.5)}" text-anchor="end" class="tick">${escapeHtml(t.label)}</text>`)
  }
  for (const t of xTicks) {
    parts.push(`<line x1="${f(t.at)}" x2="${f(t.at)}" y1="${PAD.top + PLOT_H}" y2="${PAD.top + PLOT_H + 4}" stroke="#6b7280"/>`)
    parts.push(`<text x="${f(t.at)}" y="${PAD.top + PLOT_H + 16}" text-anchor="middle" class="tick">${escapeHtml(t.label)}</text>`)
  }
  parts.push(`<line x1="${PAD.left}" x2="${PAD.left + PLOT_W}" y1="${PAD.top + PLOT_H}" y2="${PAD.top + PLOT_H}" stroke="#6b7280"/>`)
  parts.push(`<text x="${PAD.left + PLOT_W / 2}" y="${HEIGHT - 6}" text-anchor="middle" class="axis">${escapeHtml(xLabel)}</text>`)
  parts.push(`<text transform="translate(12 ${PAD.top + PLOT_H / 2}) rotate(-90)" text-anchor="middle" class="axis">${escapeHtml(yLabel)}</text>`)
  return parts.join('')
}

/** About `count` round ticks (1, 2 or 5 × 10^k apart) within [lo, hi]. */
export function linearTicks(lo: number, hi: number, count: number): number[] {
  const span = hi - lo
  if (!(span > 0)) return [lo]
  const raw = span / count
  const magnitude = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!
  const ticks: number[] = []
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9 && ticks.length < 50; t += step) ticks.push(Number(t.toPrecision(12)))
  return ticks
}

/** Round ticks for a log axis: powers of ten, else 1-2-5 (or 1-2-3-5) steps, else 1..9 × 10^k thinned to ≤ 8. */
export function logTicks(lo: number, hi: number): number[] {
  const within = (multipliers: number[]) => {
    const out: number[] = []
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
      for (const m of multipliers) {
        const t = Number((m * 10 ** e).toPrecision(12))
        if (t >= lo && t <= hi) out.push(t)
      }
    }
    return out
  }
  for (const multipliers of [[1], [1, 2, 5], [1, 2, 3, 5]]) {
    const ticks = within(multipliers)
    if (ticks.length >= 3) return ticks
  }
  const dense = within([1, 2, 3, 4, 5, 6, 7, 8, 9])
  const every = Math.ceil(dense.length / 8)
  return dense.filter((_, i) => i % every === 0)
}

/** A round number at or above v: 1, 2, 2.5 or 5 × 10^k. */
function niceCeil(v: number): number {
  if (!(v > 0)) return 1
  const magnitude = 10 ** Math.floor(Math.log10(v))
  return [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= v)!
}

const f = (n: number): string => String(Math.round(n * 10) / 10)

/** Ticks are round numbers: print them without trailing zeros (0.2, 50, 1000). */
const tickLabel = (t: number): string => String(Number(t.toPrecision(6)))

export interface ScalingPoint {
  /** topology label, e.g. 2x4 */
  label: string
  /** orchestrator + worker processes */
  processes: number
  /** tasks/s at the throughput ceiling */
  throughput: number
}

/**
 * The scaling curve: throughput ceiling (tasks/s) against the processes of each topology, points
 * joined in grid order and labelled with their topology; a dashed line from the first point
 * shows perfectly linear scaling, so where the curve falls away from it is where adding
 * instances stops paying.
 */
export function scalingSvg(points: readonly ScalingPoint[], title: string): string {
  const maxX = Math.max(...points.map((p) => p.processes)) + 1
  const first = points[0]!
  const ideal = (x: number) => (first.throughput / first.processes) * x
  const maxY = niceCeil(Math.max(...points.map((p) => p.throughput), Math.min(ideal(maxX - 1), 2 * Math.max(...points.map((p) => p.throughput)))) * 1.1)
  const px = (x: number) => PAD.left + (x / maxX) * PLOT_W
  const py = (y: number) => PAD.top + PLOT_H - (Math.min(y, maxY) / maxY) * PLOT_H
  const yTicks = linearTicks(0, maxY, 5)
  const xTicks = Array.from({ length: maxX + 1 }, (_, i) => i)
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${escapeHtml(title)}">`,
    `<title>${escapeHtml(title)}</title>`,
    ...yTicks.map((t) => `<line x1="${PAD.left}" x2="${PAD.left + PLOT_W}" y1="${f(py(t))}" y2="${f(py(t))}" stroke="#e5e7eb"/><text x="${PAD.left - 6}" y="${f(py(t) + 4)}" font-size="11" text-anchor="end">${tickLabel(t)}</text>`),
    ...xTicks.map((t) => `<text x="${f(px(t))}" y="${PAD.top + PLOT_H + 16}" font-size="11" text-anchor="middle">${t}</text>`),
    `<text x="${PAD.left + PLOT_W / 2}" y="${HEIGHT - 6}" font-size="12" text-anchor="middle">processes (orchestrators + workers)</text>`,
    `<text x="12" y="${PAD.top + PLOT_H / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 12 ${PAD.top + PLOT_H / 2})">tasks/s</text>`,
    `<line x1="${f(px(first.processes))}" y1="${f(py(first.throughput))}" x2="${f(px(maxX))}" y2="${f(py(ideal(maxX)))}" stroke="#9ca3af" stroke-dasharray="4 4"/>`,
    `<polyline fill="none" stroke="${CURRENT_COLOR}" stroke-width="2" points="${points.map((p) => `${f(px(p.processes))},${f(py(p.throughput))}`).join(' ')}"/>`,
    ...points.map((p) => `<circle cx="${f(px(p.processes))}" cy="${f(py(p.throughput))}" r="3.5" fill="${CURRENT_COLOR}"/><text x="${f(px(p.processes) + 6)}" y="${f(py(p.throughput) - 6)}" font-size="11">${escapeHtml(p.label)}</text>`),
    '</svg>',
  ]
  return parts.join('')
}
