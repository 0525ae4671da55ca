/**
 * Setup file of the `benchmarks` project: after every test, summarise what it measured (Vitest
 * benches and recordSamples() entries) into the test's meta for the results reporter, print one
 * line per measurement (Vitest's table has no p95), and fail the test on a violated budget.
 *
 * A violated time budget is measured once more first (harness/results/budgets/rerun.ts): the
 * error of the first measurement carries REMEASURE_MARK, on which the project's retry condition
 * (vitest.config.ts) runs the test again; the rerun's verdict stands and is recorded on each
 * budget the first one violated (`violated, confirmed on rerun` / `violated once, held on rerun`).
 */
import { afterEach, beforeEach, inject, type TestContext } from 'vitest'
import { checkTestResults } from '../results/budgets/check-test.ts'
import { runBudgets } from '../results/budgets/load.ts'
import { REMEASURE_MARK, rememberFirstAttempt, settleRerun, startRerun, violatedRemeasurableBudget } from '../results/budgets/rerun.ts'
import { benchFileStem } from '../results/file-stem.ts'
import { taskerMeta } from '../results/meta.ts'

// The run's book, loaded and validated once by the global setup with its overlays (run.budgets).
const budgets = () => runBudgets(inject('run'))

export class BudgetViolationError extends Error {
  override name = 'BudgetViolationError'
}

type Task = TestContext['task']

/** Where this attempt's benchmarks begin in task.benchmarks, which Vitest never clears between attempts. */
const firstBenchmarkOfAttempt = new WeakMap<Task, number>()

/** 0 for the first measurement, 1 for the one after a violated time budget. */
const attemptOf = (task: Task) => task.result?.retryCount ?? 0

/** How many times the retry settings let this test run again (a number, or `{ count }`). */
function retriesAllowed(task: Task): number {
  const retry: unknown = task.retry
  if (typeof retry === 'number') return retry
  return typeof retry === 'object' && retry !== null ? Number((retry as { count?: number }).count ?? 0) : 0
}

beforeEach((ctx) => {
  firstBenchmarkOfAttempt.set(ctx.task, ctx.task.benchmarks.length)
  if (attemptOf(ctx.task) > 0 && ctx.task.meta.tasker) startRerun(ctx.task.meta.tasker)
})

afterEach((ctx) => {
  const task = ctx.task
  const file = benchFileStem(task.file.name)
  const benchmarks = task.benchmarks.slice(firstBenchmarkOfAttempt.get(task) ?? 0)
  const { lines, violations } = checkTestResults({ meta: task.meta, benchmarks, file: task.file }, budgets)
  const attempt = attemptOf(task)
  if (attempt > 0 && task.meta.tasker) lines.push(...settleRerun(task.meta.tasker, file))
  for (const line of lines) console.log(line)
  if (violations.length === 0) return

  const count = `${violations.length} budget${violations.length > 1 ? 's' : ''} violated`
  const meta = taskerMeta(task)
  // Only a test that ran cleanly is measured again: any other failure is not noise.
  const again = attempt === 0 && task.result?.state !== 'fail' && retriesAllowed(task) > 0 && violatedRemeasurableBudget(meta)
  if (again) rememberFirstAttempt(meta)
  const confirmed = meta.measurements.every((m) => (m.budgets ?? []).every((b) => b.passed || b.target || b.rerun?.verdict === 'violated, confirmed on rerun'))
  const verdict = again ? `; ${REMEASURE_MARK}` : attempt > 0 ? (confirmed ? ', confirmed on rerun' : ' on rerun') : ''
  const error = new BudgetViolationError(`${count}${verdict}:\n${violations.join('\n')}`)
  error.stack = `${error.name}: ${error.message}` // the hook's stack frames say nothing useful
  throw error
})
