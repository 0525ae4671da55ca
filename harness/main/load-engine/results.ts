/**
 * One rate's merged metrics as the load bench's result entry: same file (`load`), test
 * (`<rate> linear tasks/s > for <seconds> s`) and bench name (`load linear @<rate>/s`), so the
 * budget file, bench:report and bench:compare treat it as the load bench's measurement. Budgets
 * are checked here as the bench hooks check them.
 */
import { checkBudgets, evaluateBudgets, formatViolation } from '../../results/budgets/evaluate.ts'
import type { BudgetBook } from '../../results/budgets/load.ts'
import type { ResultEntry } from '../../results/schema.ts'
import { sketchQuantilePoints, summarizeSketch, type MergedMetrics } from './merge.ts'

export const LOAD_FILE = 'load'
export const LOAD_MODULE = 'benchmarks/load.bench.ts'
/** as benchmarks/load.bench.ts: latency has broken down at a rate whose p99 exceeds this */
export const BREAKDOWN_P99_MS = 100

export const loadBenchName = (rate: number) => `load linear @${rate}/s`
export const loadTestName = (rate: number, seconds: number) => `${rate} linear tasks/s > for ${seconds} s`

export interface RateOutcome {
  /** undefined when no task completed: there is no latency, the failures are the report */
  entry: ResultEntry | undefined
  violations: string[]
  failures: string[]
  line: string
}

export function rateResult(rate: number, seconds: number, metrics: MergedMetrics, arrivalsPlanned: number, book: BudgetBook, extra: Record<string, unknown>): RateOutcome {
  const latency = metrics.histograms['tasker.task_latency']
  const completed = metrics.counters['tasker.completed'] ?? 0
  const failed = metrics.counters['tasker.failed'] ?? 0
  const abandoned = Math.max(0, arrivalsPlanned - completed - failed)
  const errors = Object.fromEntries(Object.entries(metrics.counters).filter(([k]) => k.startsWith('errors.')).map(([k, v]) => [k.slice('errors.'.length), v]))
  const throughput = metrics.achievedThroughput
  const lag = metrics.histograms['tasker.arrival_lag']
  const failures = [
    ...Object.entries(errors).map(([message, count]) => `${count}× ${message}`),
    ...(abandoned > 0 ? [`${abandoned} of ${arrivalsPlanned} arrivals never finished (generator stopped or killed)`] : []),
  ]
  if (!latency || completed === 0) {
    return { entry: undefined, violations: [], failures, line: `[load:distributed] ${rate}/s: no task completed${failures.length ? `; ${failures.join('; ')}` : ''}` }
  }
  const summary = summarizeSketch(latency, metrics.counters['tasker.latency_sq_sum'] ?? 0)
  const budgets = book.for(LOAD_FILE, loadBenchName(rate))
  const violations = evaluateBudgets(summary, budgets).map((v) => formatViolation({ file: LOAD_FILE, bench: loadBenchName(rate) }, v))
  const brokeDown = summary.p99 > BREAKDOWN_P99_MS || throughput < rate * 0.9 || failed > 0 || abandoned > 0
  const entry: ResultEntry = {
    file: LOAD_FILE,
    module: LOAD_MODULE,
    test: loadTestName(rate, seconds),
    bench: loadBenchName(rate),
    source: 'samples',
    state: violations.length > 0 || failures.length > 0 ? 'failed' : 'passed',
    unit: 'ms',
    ...summary,
    budgets: checkBudgets(summary, budgets),
    extra: {
      ...extra,
      offeredRate: rate,
      seconds,
      achievedThroughput: throughput,
      arrivals: arrivalsPlanned,
      completed,
      failed,
      abandoned,
      errors,
      generatorLagMs: lag ? { p50: lag.getValueAtQuantile(0.5), p99: lag.getValueAtQuantile(0.99), max: lag.max } : undefined,
      breakdownP99Ms: BREAKDOWN_P99_MS,
      brokeDown,
      samplesFrom: 'quantile points of the merged DDSketch (1% relative accuracy)',
    },
    samples: sketchQuantilePoints(latency),
  }
  const line =
    `[load:distributed] ${rate}/s over ${metrics.generators} generators: ${completed}/${arrivalsPlanned} completed, ${throughput.toFixed(1)} tasks/s achieved, ` +
    `p50 ${summary.p50.toFixed(1)} p95 ${summary.p95.toFixed(1)} p99 ${summary.p99.toFixed(1)} max ${summary.max.toFixed(1)} ms` +
    `${lag ? `, generator lag p99 ${lag.getValueAtQuantile(0.99).toFixed(1)} ms` : ''}${failures.length ? `; ${failures.join('; ')}` : ''}`
  return { entry, violations, failures, line }
}
