/** Building the results document from finished tests' meta: pure, so it is tested without Vitest. */
import type { TaskMeta } from 'vitest'
import type { EnvironmentFingerprint } from './environment.ts'
import { benchFileStem } from './file-stem.ts'
import './meta.ts'
import { SCHEMA_VERSION, type ResultEntry, type ResultsDocument } from './schema.ts'

export interface FinishedTestRecord {
  /** the test file relative to the project root */
  module: string
  /** full test name */
  test: string
  state: string
  meta: TaskMeta
}

export function buildResultsDocument(environment: EnvironmentFingerprint, tests: readonly FinishedTestRecord[]): ResultsDocument {
  const results: ResultEntry[] = []
  for (const t of tests) {
    const tasker = t.meta.tasker
    if (!tasker) continue
    for (const m of tasker.measurements) {
      results.push({
        file: benchFileStem(t.module),
        module: t.module,
        test: t.test,
        bench: m.name,
        source: m.source,
        state: t.state,
        unit: 'ms',
        ...m.summary,
        budgets: m.budgets ?? [],
        extra: { ...tasker.annotations, ...m.extra },
        ...(m.samples ? { samples: m.samples } : {}),
        ...(m.work ? { work: m.work } : {}),
      })
    }
  }
  return { schemaVersion: SCHEMA_VERSION, environment, results }
}
