/**
 * Records the efficiency figures of one shape next to the latencies they come from, as
 * measurements of the test: the bench hooks check them against budgets and the results reporter
 * writes them like any figure (harness/results/efficiency.ts defines them).
 */
import type { RunnerTestCase } from 'vitest'
import { taskerMeta } from '../../results/meta.ts'
import { summarize } from '../../results/percentiles.ts'
import { efficiencyExtra, efficiencyName, ratioSummary, type BaselineName } from '../../results/efficiency.ts'

export function recordEfficiency(task: Pick<RunnerTestCase, 'meta'>, shape: string, e2eSamples: readonly number[], baselines: Partial<Record<BaselineName, readonly number[]>>): void {
  const e2e = summarize(e2eSamples)
  const meta = taskerMeta(task)
  for (const [baseline, samples] of Object.entries(baselines) as [BaselineName, readonly number[]][]) {
    const base = summarize(samples)
    const name = efficiencyName(shape, baseline)
    meta.measurements = meta.measurements.filter((m) => m.name !== name)
    meta.measurements.push({ name, source: 'samples', summary: ratioSummary(e2e, base), extra: { ...efficiencyExtra(shape, baseline, e2e, base) } })
  }
}
