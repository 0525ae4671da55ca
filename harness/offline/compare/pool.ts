/**
 * Pooling the rounds of one side of an interleaved A/B run into one results document: per bench,
 * the retained samples of every round together, summarised again. `n` is the number of samples
 * actually taken over all rounds; the percentiles come from the pooled points (each round's
 * points describe its distribution, so every round weighs by the points it kept). Every round's
 * budget checks are kept, so a report can say in how many rounds a budget failed.
 */
import { entriesById } from './bench-id.ts'
import type { ResultEntry, ResultsDocument } from '../../results/schema.ts'
import { MIN_SAMPLES_FOR_P99, summarize } from '../../results/percentiles.ts'

export function poolRounds(rounds: readonly ResultsDocument[]): ResultsDocument {
  if (rounds.length === 0) throw new RangeError('poolRounds: no rounds to pool')
  const byId = new Map<string, ResultEntry[]>()
  for (const doc of rounds) {
    for (const [id, entry] of entriesById(doc.results)) {
      const list = byId.get(id)
      if (list) list.push(entry)
      else byId.set(id, [entry])
    }
  }
  const results: ResultEntry[] = []
  for (const entries of byId.values()) {
    const first = entries[0]!
    const withSamples = entries.filter((e) => e.samples && e.samples.length > 0)
    const pooled = withSamples.flatMap((e) => e.samples!).sort((a, b) => a - b)
    const n = withSamples.reduce((sum, e) => sum + e.n, 0)
    const summary = pooled.length > 0 ? { ...summarize(pooled), n, p99Meaningful: n >= MIN_SAMPLES_FOR_P99 } : undefined
    results.push({
      ...first,
      ...(summary ?? {}),
      state: entries.some((e) => e.state !== 'passed') ? entries.find((e) => e.state !== 'passed')!.state : first.state,
      budgets: entries.flatMap((e) => e.budgets),
      extra: { ...first.extra, rounds: entries.length },
      ...(summary ? { samples: pooled } : {}),
    })
    if (!summary) delete results[results.length - 1]!.samples
  }
  return { schemaVersion: rounds[0]!.schemaVersion, environment: rounds[0]!.environment, results }
}
