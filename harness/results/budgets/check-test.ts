/**
 * What the bench hooks do after each test, as a function of the finished test: summarise every
 * bench's retained samples into `task.meta` (next to the recordSamples() entries), check every
 * measurement against its budgets, and return the console lines and the violations.
 */
import type { TaskMeta, TestBenchmark } from 'vitest'
import { taskerMeta, type Measurement } from '../meta.ts'
import { benchFileStem } from '../file-stem.ts'
import { retainSamples } from '../retained-samples.ts'
import { summarize, type LatencySummary } from '../percentiles.ts'
import { checkBudgets, evaluateBudgets, formatViolation } from './evaluate.ts'
import type { BudgetBook } from './load.ts'
import { workLine } from '../work-line.ts'
import { formatMs } from '../format.ts'

/** The parts of a finished Vitest test this needs (a RunnerTestCase has them). */
export interface FinishedTest {
  readonly meta: TaskMeta
  /** the benchmarks this attempt recorded */
  readonly benchmarks: readonly TestBenchmark[]
  readonly file: { readonly name: string }
}

export interface TestCheck {
  /** one compact line per measurement: n, p50, p95, p99, max */
  lines: string[]
  /** formatted violations; empty when every budget holds */
  violations: string[]
}

/** `budgets` is called only when the test measured something, so plain tests never load the file. */
export function checkTestResults(task: FinishedTest, budgets: () => BudgetBook): TestCheck {
  const file = benchFileStem(task.file.name)
  const meta = taskerMeta(task)
  // Replace, not append: a test measured again runs this hook again (the caller passes only the
  // benchmarks of that attempt, since Vitest keeps appending to task.benchmarks).
  meta.measurements = [...benchMeasurements(task.benchmarks), ...meta.measurements.filter((m) => m.source !== 'bench')]
  if (meta.measurements.length === 0) {
    if (Object.keys(meta.annotations).length === 0) delete task.meta.tasker
    return { lines: [], violations: [] }
  }

  const book = budgets()
  const lines: string[] = []
  const violations: string[] = []
  for (const m of meta.measurements) {
    const work = meta.work?.[m.name]
    if (work) m.work = work
    const list = book.for(file, m.name)
    m.budgets = checkBudgets(m.summary, list, work)
    const failed = evaluateBudgets(m.summary, list, work)
    lines.push(summaryLine(file, m))
    for (const v of failed) violations.push(formatViolation({ file, bench: m.name }, v))
  }
  return { lines, violations }
}

function benchMeasurements(benchmarks: readonly TestBenchmark[]): Measurement[] {
  const out: Measurement[] = []
  for (const group of benchmarks) {
    for (const t of group.tasks) {
      if (t.fromStore) continue // a bench.from() baseline: a reference row, not a measurement
      const samples = t.latency.samples
      if (!samples || samples.length === 0) {
        if (t.latency.samplesCount > 0) {
          throw new Error(`bench "${t.name}" has no retained samples, so p95 cannot be computed: set benchmark.retainSamples: true in vitest.config.ts`)
        }
        continue // the bench did not complete; its error already fails the test
      }
      out.push({ name: t.name, source: 'bench', summary: summarize(samples), samples: retainSamples(samples) })
    }
  }
  return out
}

const ms = formatMs

function summaryLine(file: string, m: Measurement): string {
  const s: LatencySummary = m.summary
  // efficiency figures (harness/results/efficiency.ts) are ratios, not milliseconds
  const unit = m.extra?.unit === 'ratio' ? '× (ratio)' : 'ms'
  let line = `[bench] ${file} > ${m.name}: n=${s.n} p50=${ms(s.p50)} p95=${ms(s.p95)} p99=${ms(s.p99)} max=${ms(s.max)} ${unit}`
  if (!s.p99Meaningful) line += ` (n < 100: p99 not meaningful)`
  const budgets = (m.budgets ?? []).filter((b) => !b.target)
  const targets = (m.budgets ?? []).filter((b) => b.target)
  if (budgets.length > 0) line += ` · budgets ${budgets.filter((b) => b.passed).length}/${budgets.length} ok`
  if (targets.length > 0) {
    const missed = targets.filter((b) => !b.passed).map((b) => `${b.expression.replace(/^target\s+/, '')} (${ms(b.observed)})`)
    line += ` · targets ${targets.length - missed.length}/${targets.length} met${missed.length ? `, missed: ${missed.join(', ')}` : ''}`
  }
  if (m.work) line += `\n[work]  ${file} > ${m.name}: ${workLine(m.work)}`
  return line
}
