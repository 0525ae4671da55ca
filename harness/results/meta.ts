/**
 * What a test leaves in `task.meta` for the budget hooks and the results reporter. Vitest
 * serialises meta from the worker to the main process, so everything here is plain JSON.
 */
import type { TaskMeta } from 'vitest'
import type { BudgetCheck } from './budgets/evaluate.ts'
import type { LatencySummary } from './percentiles.ts'
import type { WorkMeasurement } from './work.ts'

export interface Measurement {
  /** the bench name printed in Vitest's table, or the name given to recordSamples() */
  name: string
  /** `bench`: a Vitest bench's retained samples; `samples`: recordSamples() */
  source: 'bench' | 'samples'
  summary: LatencySummary
  /**
   * the samples behind the summary, sorted and capped (see retained-samples.ts), for the
   * significance tests of a baseline comparison; absent in meta written before they were kept
   */
  samples?: number[]
  /** fields of this measurement only, e.g. { phase: 'step claim' } */
  extra?: Record<string, unknown>
  /** every budget evaluated against it (filled by the hooks) */
  budgets?: BudgetCheck[]
  /** work per task over this measurement's window (harness/results/work.ts), joined from TaskerMeta.work by name */
  work?: WorkMeasurement
}

export interface TaskerMeta {
  measurements: Measurement[]
  /** fields that apply to every measurement of the test (completion mode, poll interval…) */
  annotations: Record<string, unknown>
  /**
   * Work per task by measurement name (recordWork(), harness/bench/work/): kept apart from
   * `measurements` because a Vitest bench's measurement is created only after the test, by the
   * hooks, which attach it.
   */
  work?: Record<string, WorkMeasurement>
}

declare module 'vitest' {
  interface TaskMeta {
    tasker?: TaskerMeta
  }
}

/** The test's TaskerMeta, created on first use. */
export function taskerMeta(task: { readonly meta: TaskMeta }): TaskerMeta {
  return (task.meta.tasker ??= { measurements: [], annotations: {} })
}
