/**
 * Checking a measurement's summary against its budgets. Pure: the hooks decide what to do with
 * violations (fail the test), the reporter records the outcome of every check. Targets are
 * checked and recorded, never violations.
 */
import type { LatencySummary } from '../percentiles.ts'
import type { WorkMeasurement } from '../work.ts'
import type { BudgetExpression, BudgetOperator } from './parse.ts'
import type { BudgetRerun } from './rerun.ts'

export interface BudgetViolation {
  /** the expression as written, e.g. `p(95)<10` */
  expression: string
  /** normalised metric, e.g. `p(95)` */
  metric: string
  observed: number
  /** the limit after scaling */
  limit: number
  operator: BudgetOperator
  unit: 'ms' | 'samples' | 'per task'
  /** the limit as written, before scaling */
  writtenLimit: number
  /** the budget scale applied to the written limit */
  scale: number
  where: string
  /** set for percentile budgets above p(95) when there were fewer than 100 samples */
  note?: string
}

/** One evaluated budget, kept in the results whether it passed or not. */
export interface BudgetCheck {
  expression: string
  operator: BudgetOperator
  limit: number
  observed: number
  passed: boolean
  /** a target (`target …`): reported, never a violation */
  target?: boolean
  /** the first measurement violated this budget and the test was measured again (rerun.ts) */
  rerun?: BudgetRerun
}

const compare: Readonly<Record<BudgetOperator, (observed: number, limit: number) => boolean>> = {
  '<': (o, l) => o < l,
  '<=': (o, l) => o <= l,
  '>': (o, l) => o > l,
  '>=': (o, l) => o >= l,
  '==': (o, l) => o === l,
}

/** What a budget reads: a summary field, or a work counter per task (undefined: not measured). */
function observedValue(summary: LatencySummary, work: WorkMeasurement | undefined, b: BudgetExpression): number | undefined {
  return b.work ? work?.perTask[b.work] : (summary[b.field] as number)
}

/** Work budgets on a measurement without that counter are left out: nothing to check, nothing failed. */
export function checkBudgets(summary: LatencySummary, budgets: readonly BudgetExpression[], work?: WorkMeasurement): BudgetCheck[] {
  return latencyBudgets(budgets).flatMap((b) => {
    const observed = observedValue(summary, work, b)
    if (observed === undefined) return []
    const check: BudgetCheck = { expression: b.text, operator: b.operator, limit: b.limit, observed, passed: compare[b.operator](observed, b.limit) }
    if (b.target) check.target = true
    return [check]
  })
}

export function evaluateBudgets(summary: LatencySummary, budgets: readonly BudgetExpression[], work?: WorkMeasurement): BudgetViolation[] {
  const violations: BudgetViolation[] = []
  for (const b of latencyBudgets(budgets)) {
    const observed = observedValue(summary, work, b)
    if (observed === undefined || b.target || compare[b.operator](observed, b.limit)) continue
    const violation: BudgetViolation = {
      expression: b.text,
      metric: b.metric,
      observed,
      limit: b.limit,
      operator: b.operator,
      unit: b.unit,
      writtenLimit: b.writtenLimit,
      scale: b.scale,
      where: b.where,
    }
    if (!b.work && (b.field === 'p99' || b.field === 'p999') && !summary.p99Meaningful) {
      violation.note = `only ${summary.n} samples: ${b.metric} is not meaningful below 100`
    }
    violations.push(violation)
  }
  return violations
}

/** Findings' budgets (scaling order, probes) are checked by findings.ts, never against a summary. */
const latencyBudgets = (budgets: readonly BudgetExpression[]) => budgets.filter((b) => !b.finding)

/** A finding's budget against what was found: the exponent or ms per 1K of a fit, 1/0 for a probe's pass/fail. */
export function checkFinding(budget: BudgetExpression, observed: number): BudgetCheck {
  const check: BudgetCheck = { expression: budget.text, operator: budget.operator, limit: budget.limit, observed, passed: compare[budget.operator](observed, budget.limit) }
  if (budget.target) check.target = true
  return check
}

export interface BenchId {
  /** bench file stem, e.g. `event-propagation` */
  file: string
  /** bench name as printed in Vitest's table */
  bench: string
}

/** `budget violated: event-propagation > small payload: p(95) = 12.40 ms, limit < 10 ms` */
export function formatViolation(bench: BenchId, v: BudgetViolation): string {
  const unit = v.unit === 'ms' ? ' ms' : ''
  const observed = v.unit === 'samples' ? String(v.observed) : v.observed.toFixed(2)
  let line = `budget violated: ${bench.file} > ${bench.bench}: ${v.metric} = ${observed}${unit}, limit ${v.operator} ${formatLimit(v.limit)}${unit}`
  if (v.limit !== v.writtenLimit) line += ` (written ${formatLimit(v.writtenLimit)}${unit}, budget scale ${v.scale})`
  if (v.note) line += ` [${v.note}]`
  return line
}

/** Limits without float noise: 0.30000000000000004 → 0.3, 10 → 10. */
function formatLimit(n: number): string {
  return String(Number(n.toPrecision(12)))
}
