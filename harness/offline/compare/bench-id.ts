/**
 * How an entry of a results file is recognised in another run: `<file> > <bench>` (the keys of
 * the budget and margins files). Should one file hold the same bench name in two tests, the
 * second and later get the test name appended, so neither is silently dropped.
 */
import type { ResultEntry } from '../../results/schema.ts'

export function benchId(entry: Pick<ResultEntry, 'file' | 'bench'>): string {
  return `${entry.file} > ${entry.bench}`
}

/** Entries by id, in document order. */
export function entriesById(results: readonly ResultEntry[]): Map<string, ResultEntry> {
  const byId = new Map<string, ResultEntry>()
  for (const entry of results) {
    let id = benchId(entry)
    if (byId.has(id)) id = `${id} (${entry.test})`
    for (let i = 2; byId.has(id) && i < 1000; i++) id = `${benchId(entry)} (${entry.test} #${i})`
    byId.set(id, entry)
  }
  return byId
}
