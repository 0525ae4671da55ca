/**
 * The budget language, after k6's thresholds: `<metric><operator><limit>`, e.g. `p(95)<10`,
 * `avg<5`, `max<100ms`, `med<=2`, `count>=1000`. Limits are milliseconds (an `ms` suffix is
 * allowed) except for `count`, the number of samples. Operators: < <= > >= ==.
 *
 * `target <expression>` (e.g. `target p(50)<20`) is a target rather than a budget: checked,
 * printed and recorded like one, but a missed target never fails the run, and it is never scaled.
 * For design goals a system does not meet yet, next to the budgets that guard what it does.
 *
 * Work per task (harness/results/work.ts) is budgeted as `<counter>/task<operator><limit>`, e.g.
 * `statements/task<40`, `wal_bytes/task<=20000`: the counter per completed task, never scaled by
 * the budget scale (a count does not depend on the machine's speed), and not evaluated when the
 * measurement has no such counter.
 *
 * Findings, checked by the bench that makes them rather than against a latency summary (never
 * scaled, since neither is a latency):
 * - `scaling: exponent<0.2`, `scaling: ms_per_1k<0.5`: the scaling order of a SQL function over
 *   the scales measured (harness/results/scaling.ts), listed under `scaling:` and the function's
 *   bench name without its scale, e.g. `get_next_ready_tasks(10)`;
 * - `probe: pass`: a contract probe (harness/bench/probes) must pass, listed under `probes:` and
 *   the probe's name. A probe fails the run only when it is budgeted so.
 */
import type { LatencySummary } from '../percentiles.ts'
import { isWorkCounter, WORK_COUNTERS, type WorkCounter } from '../work.ts'

export type BudgetOperator = '<' | '<=' | '>' | '>=' | '=='

/** The summary fields a budget can read. */
export type BudgetField = 'n' | 'mean' | 'min' | 'max' | 'p50' | 'p75' | 'p90' | 'p95' | 'p99' | 'p999'

export interface BudgetExpression {
  /** the expression as written (trimmed), for messages */
  text: string
  /** normalised metric name: p(95), avg, med, min, max, count, or `<counter>/task` */
  metric: string
  /** the LatencySummary field the metric reads (unused when `work` is set) */
  field: BudgetField & keyof LatencySummary
  /** a work budget: the counter per task it reads from the measurement's `work.perTask` */
  work?: WorkCounter
  operator: BudgetOperator
  /** the limit to compare with, after scaling (see loadBudgets) */
  limit: number
  unit: 'ms' | 'samples' | 'per task'
  /** the limit as written, before scaling */
  writtenLimit: number
  /** the budget scale applied to it (1 when unscaled) */
  scale: number
  /** where the expression was defined, e.g. `fixtures/budgets.yaml event-propagation > *` */
  where: string
  /** written `target …`: reported, never fails the run */
  target: boolean
  /** a finding's budget (scaling order, contract probe): latency checks skip it */
  finding?: FindingQuantity
}

/** What a finding budget reads: the fitted exponent, the ms per 1K tasks, or a probe's verdict (1 = pass). */
export type FindingQuantity = 'scaling exponent' | 'scaling ms_per_1k' | 'probe'

/** Percentiles the summary computes; a budget on any other one could not be evaluated. */
const PERCENTILE_FIELDS: ReadonlyMap<number, BudgetField> = new Map([
  [50, 'p50'],
  [75, 'p75'],
  [90, 'p90'],
  [95, 'p95'],
  [99, 'p99'],
  [99.9, 'p999'],
])

const NAMED_FIELDS: Readonly<Record<string, BudgetField>> = { avg: 'mean', med: 'p50', min: 'min', max: 'max', count: 'n' }

const SYNTAX = /^(p\(\s*(\d+(?:\.\d+)?)\s*\)|avg|med|min|max|count)\s*(<=|>=|==|<|>)\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms)?$/

export class BudgetSyntaxError extends Error {
  override name = 'BudgetSyntaxError'
}

const TARGET = /^target\s+/

const WORK_SYNTAX = /^([a-z_]+)\/task\s*(<=|>=|==|<|>)\s*(\d+(?:\.\d+)?|\.\d+)$/
const FINDING = /^(scaling|probe)\s*:\s*(.*)$/
const SCALING = /^(exponent|ms_per_1k)\s*(<=|>=|==|<|>)\s*(\d+(?:\.\d+)?|\.\d+)$/

/** `scaling: exponent<0.2`, `scaling: ms_per_1k<=0.5`, `probe: pass` (optionally `target …`). */
function parseFinding(text: string, body: string, where: string, target: boolean): BudgetExpression {
  const [, kind, rest] = FINDING.exec(body)!
  const base = { text, unit: 'ms' as const, scale: 1, where, target, field: 'p50' as const }
  if (kind === 'probe') {
    if (rest!.trim() !== 'pass') throw new BudgetSyntaxError(`budget ${where}: cannot parse "${text}" (a probe's budget is probe: pass)`)
    return { ...base, metric: 'probe', operator: '==', limit: 1, writtenLimit: 1, finding: 'probe' }
  }
  const m = SCALING.exec(rest!.trim())
  if (!m) throw new BudgetSyntaxError(`budget ${where}: cannot parse "${text}" (expected e.g. scaling: exponent<0.2 or scaling: ms_per_1k<0.5)`)
  const limit = Number(m[3])
  return { ...base, metric: `scaling ${m[1]}`, operator: m[2] as BudgetOperator, limit, writtenLimit: limit, finding: `scaling ${m[1]}` as FindingQuantity }
}

export function parseBudgetExpression(expr: string, where: string): BudgetExpression {
  const text = String(expr).trim()
  const target = TARGET.test(text)
  if (FINDING.test(text.replace(TARGET, ''))) return parseFinding(text, text.replace(TARGET, ''), where, target)
  const work = WORK_SYNTAX.exec(text.replace(TARGET, ''))
  if (work) {
    const [, counter, operator, limitText] = work as unknown as [string, string, BudgetOperator, string]
    if (!isWorkCounter(counter)) {
      throw new BudgetSyntaxError(`budget ${where}: "${text}": ${counter} is not a work counter; use one of ${WORK_COUNTERS.join(', ')} (e.g. statements/task<40)`)
    }
    const limit = Number(limitText)
    return { text, metric: `${counter}/task`, field: 'mean', work: counter, operator, limit, unit: 'per task', writtenLimit: limit, scale: 1, where, target }
  }
  const m = SYNTAX.exec(text.replace(TARGET, ''))
  if (!m) {
    throw new BudgetSyntaxError(`budget ${where}: cannot parse "${text}" (expected e.g. p(95)<10, avg<5, max<100, count>=1000, statements/task<40, or target p(50)<20)`)
  }
  const [, metricText, percentileText, operator, limitText, msSuffix] = m as unknown as [
    string,
    string,
    string | undefined,
    BudgetOperator,
    string,
    string | undefined,
  ]
  let metric: string
  let field: BudgetField
  if (percentileText !== undefined) {
    const p = Number(percentileText)
    const known = PERCENTILE_FIELDS.get(p)
    if (!known) {
      const choices = [...PERCENTILE_FIELDS.keys()].map((k) => `p(${k})`).join(', ')
      throw new BudgetSyntaxError(`budget ${where}: "${text}": p(${percentileText}) is not computed; use one of ${choices}`)
    }
    metric = `p(${p})`
    field = known
  } else {
    metric = metricText
    field = NAMED_FIELDS[metricText]!
  }
  const unit = field === 'n' ? 'samples' : 'ms'
  if (unit === 'samples' && msSuffix) {
    throw new BudgetSyntaxError(`budget ${where}: "${text}": count is a number of samples, drop the "ms" (e.g. count>=1000)`)
  }
  const limit = Number(limitText)
  return { text, metric, field, operator, limit, unit, writtenLimit: limit, scale: 1, where, target }
}
