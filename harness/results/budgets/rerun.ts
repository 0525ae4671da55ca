/**
 * A violated time or work budget is measured once more before it fails the run: a machine that
 * runs 2× slower for a minute should not fail a time budget the code meets, and a timer of the
 * system under test (a recovery sweep every 15 s: several round trips at once) that lands in a
 * window of a few tasks should not fail a work budget — in the smoke profile's windows of five
 * tasks one sweep adds 3 round trips per task. A real change of the work per task is deterministic
 * and is confirmed on the rerun; a sweep does not land in two windows a second apart. The first measurement's failed
 * checks are kept in the test's meta; after the rerun every budget it had violated is marked
 * `violated, confirmed on rerun` (the rerun violated it too: the test fails) or `violated once,
 * held on rerun` (the rerun met it: the test passes, and results and summary still say so).
 *
 * Vitest does the rerun: the benchmarks project retries a test once when its error carries
 * REMEASURE_MARK (retry.condition in vitest.config.ts), and only the bench hooks put it there.
 * Count budgets are not noise, so a violation of those alone is not measured again.
 */
import type { TaskerMeta } from '../meta.ts'
import type { BudgetCheck } from './evaluate.ts'

/** In the error of a first measurement that violated a time budget: the retry condition matches it. */
export const REMEASURE_MARK = 'measuring once more before failing the run'

export type RerunVerdict = 'violated, confirmed on rerun' | 'violated once, held on rerun'

/** Set on a budget check of the rerun whose budget the first measurement violated. */
export interface BudgetRerun {
  verdict: RerunVerdict
  /** what the first measurement observed */
  firstObserved: number
}

/** The failed checks of the first measurement, by measurement name. */
export type FirstAttempt = Record<string, BudgetCheck[]>

declare module '../meta.ts' {
  interface TaskerMeta {
    /** kept from the first measurement while the test is measured again */
    firstAttempt?: FirstAttempt
  }
}

/**
 * Whether the test is worth measuring again: a budget on its timings (latencies, the efficiency
 * ratios made of them) or on its work per task (`statements/task<40`, harness/results/work.ts)
 * failed, not only a `count` budget: the number of samples is the bench's own choice.
 */
export function violatedRemeasurableBudget(meta: TaskerMeta): boolean {
  return meta.measurements.some((m) => (m.budgets ?? []).some((b) => !b.passed && !b.target && !/^count\b/.test(b.expression)))
}

/** After the first measurement: keep its failed checks, for the verdicts after the rerun. */
export function rememberFirstAttempt(meta: TaskerMeta): void {
  const first: FirstAttempt = {}
  for (const m of meta.measurements) {
    const failed = (m.budgets ?? []).filter((b) => !b.passed && !b.target)
    if (failed.length > 0) first[m.name] = failed
  }
  meta.firstAttempt = first
}

/** Before the rerun: forget the first measurement's entries (their violations are kept). */
export function startRerun(meta: TaskerMeta): void {
  meta.measurements = []
}

/**
 * After the rerun: mark every budget the first measurement violated with its verdict, and return
 * one line for each (`budget violated once, held on rerun: e2e-latency > e2e linear: p(99)<50 …`).
 */
export function settleRerun(meta: TaskerMeta, file: string): string[] {
  const first = meta.firstAttempt
  if (!first) return []
  delete meta.firstAttempt
  const lines: string[] = []
  for (const [name, failed] of Object.entries(first)) {
    const m = meta.measurements.find((x) => x.name === name)
    for (const was of failed) {
      const now = m?.budgets?.find((b) => b.expression === was.expression)
      if (!now) continue // the rerun did not measure it (the test failed first): its own error says why
      now.rerun = { verdict: now.passed ? 'violated once, held on rerun' : 'violated, confirmed on rerun', firstObserved: was.observed }
      lines.push(`budget ${now.rerun.verdict}: ${file} > ${name}: ${was.expression} (observed ${round(was.observed)}, then ${round(now.observed)})`)
    }
  }
  return lines
}

const round = (n: number) => String(Number(n.toPrecision(4)))

/** The benchmarks project's `retry` (vitest.config.ts): one more run, for a violated time budget only. */
export const BENCH_RETRY = { count: 1, condition: new RegExp(REMEASURE_MARK) }
