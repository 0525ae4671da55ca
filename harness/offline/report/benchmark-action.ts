/**
 * github-action-benchmark's custom format for `tool: customSmallerIsBetter`: a JSON array of
 * { name, unit, value, range?, extra? } — range and extra are free text shown in the chart's
 * tooltip. Two entries per bench, `<file> > <bench> (p50)` and `(p95)`, in milliseconds; range is
 * "± half the 95 % confidence interval" of that quantile when samples were kept.
 */
import { entriesById } from '../compare/bench-id.ts'
import { quantileInterval } from '../compare/quantile-interval.ts'
import type { ResultsDocument } from '../../results/schema.ts'
import { BMF_QUANTILES } from './bmf.ts'
import { formatMs } from '../../results/format.ts'

export interface BenchmarkActionEntry {
  name: string
  unit: string
  value: number
  range?: string
  extra?: string
}

export function toBenchmarkAction(doc: ResultsDocument): BenchmarkActionEntry[] {
  const out: BenchmarkActionEntry[] = []
  for (const [id, e] of entriesById(doc.results)) {
    for (const [label, q] of BMF_QUANTILES) {
      const entry: BenchmarkActionEntry = { name: `${id} (${label})`, unit: 'ms', value: round(e[label]) }
      if (e.samples && e.samples.length > 0) {
        const ci = quantileInterval(e.samples, q, e.n)
        entry.range = `± ${formatMs((ci.upper - ci.lower) / 2)}`
      }
      entry.extra = `n=${e.n}\nmean=${formatMs(e.mean)} ms\np99=${formatMs(e.p99)} ms${e.p99Meaningful ? '' : ' (n < 100)'}\nmax=${formatMs(e.max)} ms`
      out.push(entry)
    }
  }
  return out
}

const round = (ms: number): number => Math.round(ms * 1e6) / 1e6

/** Problems with `value` as a customSmallerIsBetter file (empty when valid). */
export function validateBenchmarkAction(value: unknown): string[] {
  if (!Array.isArray(value)) return ['the document must be a JSON array of { name, unit, value, range?, extra? }']
  const problems: string[] = []
  const names = new Set<string>()
  value.forEach((entry: unknown, i) => {
    const at = `[${i}]`
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      problems.push(`${at} must be an object`)
      return
    }
    const e = entry as Record<string, unknown>
    for (const key of Object.keys(e)) if (!['name', 'unit', 'value', 'range', 'extra'].includes(key)) problems.push(`${at}: unknown field ${key}`)
    if (typeof e.name !== 'string' || e.name === '') problems.push(`${at}.name must be a non-empty string`)
    else if (names.has(e.name)) problems.push(`${at}.name ${JSON.stringify(e.name)} repeats an earlier entry (the action would merge them)`)
    else names.add(e.name)
    if (typeof e.unit !== 'string' || e.unit === '') problems.push(`${at}.unit must be a non-empty string`)
    if (typeof e.value !== 'number' || !Number.isFinite(e.value)) problems.push(`${at}.value must be a number`)
    if ('range' in e && typeof e.range !== 'string') problems.push(`${at}.range must be a string`)
    if ('extra' in e && typeof e.extra !== 'string') problems.push(`${at}.extra must be a string`)
  })
  return problems
}
