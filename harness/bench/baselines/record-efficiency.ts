/**
 * Records the efficiency figures of one shape next to the latencies they come from, as
 * measurements of the test: the bench hooks check them against budgets and the results reporter
 * writes them like any figure (harness/results/efficiency.ts defines them).
 */
import type { RunnerTestCase } from 'vitest'
import { taskerMeta } from '../../results/meta.ts'
import { summarize } from '../../results/percentiles.ts'
import { efficiencyExtra, efficiencyName, ratioSummary, workRatios, type BaselineName, type EfficiencyExtra } from '../../results/efficiency.ts'
import type { WorkMeasurement } from '../../results/work.ts'

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

/** Adds the work ratios (E2E ÷ baseline per task) to the shape's efficiency figures, where both were counted. */
export function recordWorkRatios(task: Pick<RunnerTestCase, 'meta'>, shape: string, works: Record<string, WorkMeasurement>, names: { e2e: string } & Partial<Record<BaselineName, string>>): void {
  const e2e = works[names.e2e]
  if (!e2e) return
  for (const baseline of ['floor', 'peer', 'minimal'] as const) {
    const base = names[baseline] && works[names[baseline]]
    const figure = taskerMeta(task).measurements.find((m) => m.name === efficiencyName(shape, baseline))
    if (!base || !figure) continue
    ;(figure.extra as unknown as EfficiencyExtra).efficiency.work = workRatios(e2e, base)
  }
}
