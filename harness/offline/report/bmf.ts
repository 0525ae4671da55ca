/**
 * Bencher Metric Format (https://bencher.dev/docs/reference/bencher-metric-format): a JSON object
 * of benchmark name → measure slug → { value, lower_value?, upper_value? }. Bencher's built-in
 * `latency` measure is in nanoseconds, so milliseconds are converted. Each bench gives two
 * benchmarks, `<file> > <bench> (p50)` and `<file> > <bench> (p95)`, both with the `latency`
 * measure; the bounds are the distribution-free 95 % confidence interval of that quantile
 * (quantile-interval.ts), present when the run kept its samples.
 * Upload with: `bencher run --adapter json --file results/bmf.json`.
 */
import { quantileInterval } from '../compare/quantile-interval.ts'
import type { ResultsDocument } from '../../results/schema.ts'
import { entriesById } from '../compare/bench-id.ts'

export interface BmfMetric {
  value: number
  lower_value?: number
  upper_value?: number
}

export type Bmf = Record<string, Record<string, BmfMetric>>

const NS_PER_MS = 1e6
export const BMF_QUANTILES = [
  ['p50', 0.5],
  ['p95', 0.95],
] as const

export function toBmf(doc: ResultsDocument): Bmf {
  const out: Bmf = {}
  for (const [id, e] of entriesById(doc.results)) {
    for (const [label, q] of BMF_QUANTILES) {
      const metric: BmfMetric = { value: toNs(e[label]) }
      if (e.samples && e.samples.length > 0) {
        const ci = quantileInterval(e.samples, q, e.n)
        metric.lower_value = Math.min(toNs(ci.lower), metric.value)
        metric.upper_value = Math.max(toNs(ci.upper), metric.value)
      }
      out[`${id} (${label})`] = { latency: metric }
    }
  }
  return out
}

const toNs = (ms: number): number => Math.round(ms * NS_PER_MS * 1000) / 1000

/** Problems with `value` as BMF (empty when valid): the documented shape and limits. */
export function validateBmf(value: unknown): string[] {
  const problems: string[] = []
  if (!isObject(value)) return ['the document must be a JSON object of benchmark names']
  for (const [benchmark, measures] of Object.entries(value)) {
    const at = JSON.stringify(benchmark)
    if (benchmark.length === 0 || benchmark.length > 1024) problems.push(`${at}: a benchmark name must be 1..1024 characters`)
    if (!isObject(measures) || Object.keys(measures).length === 0) {
      problems.push(`${at}: must be an object of one or more measures`)
      continue
    }
    for (const [measure, metric] of Object.entries(measures)) {
      const where = `${at} > ${measure}`
      if (measure.length === 0 || measure.length > 64) problems.push(`${where}: a measure name or slug must be 1..64 characters`)
      if (!isObject(metric)) {
        problems.push(`${where}: must be an object with a value`)
        continue
      }
      for (const key of Object.keys(metric)) {
        if (key !== 'value' && key !== 'lower_value' && key !== 'upper_value') problems.push(`${where}: unknown field ${key}`)
      }
      if (!isNumber(metric.value)) problems.push(`${where}.value must be a number`)
      for (const key of ['lower_value', 'upper_value'] as const) {
        if (key in metric && !isNumber(metric[key])) problems.push(`${where}.${key} must be a number`)
      }
      if (isNumber(metric.lower_value) && isNumber(metric.value) && metric.lower_value > metric.value) problems.push(`${where}: lower_value is above value`)
      if (isNumber(metric.upper_value) && isNumber(metric.value) && metric.upper_value < metric.value) problems.push(`${where}: upper_value is below value`)
    }
  }
  return problems
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function isNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v)
}
