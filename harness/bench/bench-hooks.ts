/**
 * Setup file of the `benchmarks` project: after every test, summarise what it measured (Vitest
 * benches and recordSamples() entries) into the test's meta for the results reporter, print one
 * line per measurement (Vitest's table has no p95), and fail the test on a violated budget.
 */
import { afterEach, inject } from 'vitest'
import { ConfigError, loadSettings } from '../config/settings.ts'
import { checkTestResults } from '../results/budgets/check-test.ts'
import { budgetOverlays, loadBudgets, type BudgetBook } from '../results/budgets/load.ts'

let book: BudgetBook | undefined
// Loaded on the first measurement, once per worker module graph; a ConfigError fails that test
// (the global setup loads the budgets too, so a bad file normally stops the run before it starts).
function budgets(): BudgetBook {
  try {
    return (book ??= loadBudgets(loadSettings(), { overlays: budgetOverlays(inject('run').orchestrator.mode) }))
  } catch (err) {
    if (err instanceof ConfigError) err.stack = `${err.name}: ${err.message}` // a typo, not a bug: no stack
    throw err
  }
}

export class BudgetViolationError extends Error {
  override name = 'BudgetViolationError'
}

afterEach((ctx) => {
  const { lines, violations } = checkTestResults(ctx.task, budgets)
  for (const line of lines) console.log(line)
  if (violations.length > 0) {
    const error = new BudgetViolationError(`${violations.length} budget${violations.length > 1 ? 's' : ''} violated:\n${violations.join('\n')}`)
    error.stack = `${error.name}: ${error.message}` // the hook's stack frames say nothing useful
    throw error
  }
})
