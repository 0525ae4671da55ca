/**
 * The results file (schema version 1), as written by harness/main/reporters/results-json.ts and read
 * back by read.ts. Change SCHEMA_VERSION when a field changes meaning or disappears; a new
 * optional field (such as `samples`) keeps the version, since readers of 1 ignore it.
 */
import type { BudgetCheck } from './budgets/evaluate.ts'
import type { EnvironmentFingerprint } from './environment.ts'
import type { LatencySummary } from './percentiles.ts'
import type { WorkMeasurement } from './work.ts'

export const SCHEMA_VERSION = 1

export interface ResultsDocument {
  schemaVersion: typeof SCHEMA_VERSION
  environment: EnvironmentFingerprint
  results: ResultEntry[]
}

export interface ResultEntry extends LatencySummary {
  /** bench file stem, the key in the budget file: `event-propagation` */
  file: string
  /** the bench file relative to the project root */
  module: string
  /** full test name (`describe > test`) */
  test: string
  /** bench name as printed in Vitest's table, or the recordSamples() name */
  bench: string
  source: 'bench' | 'samples'
  /** the test's outcome, e.g. failed when a budget was violated */
  state: string
  /** unit of min…p999 */
  unit: 'ms'
  /**
   * Every budget checked. A budget the test's first measurement violated carries `rerun`: the test
   * was measured once more, and `rerun.verdict` says `violated, confirmed on rerun` (the figures
   * here are the rerun's, the test failed) or `violated once, held on rerun` (it passed);
   * `rerun.firstObserved` is what the first measurement saw. Optional: older files have none.
   */
  budgets: BudgetCheck[]
  /** the test's annotateResult() fields, overlaid with the measurement's own extra fields */
  extra: Record<string, unknown>
  /**
   * Optional (files written before samples were kept have none; comparisons then say "not
   * comparable"). The samples in `unit`, sorted ascending: all of them when n ≤ 5000, else 5000
   * evenly spaced quantile points including min and max (samples.length < n). See
   * retained-samples.ts.
   */
  samples?: number[]
  /**
   * Optional: work per task over the measurement's window (statements, round trips, buffers, WAL,
   * commits, pgmq messages, CPU ms by process group, the statement table and the background
   * rates). See work.ts. Absent for benches that drive no tasks and when the counters were
   * unavailable.
   */
  work?: WorkMeasurement
}
