/**
 * Synthetic runs with known truth, for proving the comparison (tests) and previewing reports:
 * latencies drawn from a log-normal distribution — right-skewed with a long tail, the usual shape
 * of measured latency — from a seeded generator, so every draw is reproducible.
 */
import type { EnvironmentFingerprint } from '../../results/environment.ts'
import { retainSamples } from '../../results/retained-samples.ts'
import type { ResultEntry, ResultsDocument } from '../../results/schema.ts'
import { summarize } from '../../results/percentiles.ts'
import type { Random } from './seeded-random.ts'

/** A standard normal deviate (Box–Muller). */
export function normalDeviate(random: Random): number {
  let u = 0
  while (u === 0) u = random()
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random())
}

/** `n` log-normal latencies with the given median (ms) and log-space spread `sigma`. */
export function lognormalSamples(random: Random, n: number, median: number, sigma: number): number[] {
  return Array.from({ length: n }, () => median * Math.exp(sigma * normalDeviate(random)))
}

export const SIMULATED_ENVIRONMENT: EnvironmentFingerprint = Object.freeze({
  node: 'v24.21.0',
  platform: 'linux',
  arch: 'x64',
  cpuModel: 'Simulated CPU @ 3.0GHz',
  cpuCount: 4,
  memoryGiB: 16,
  commit: '0123456789abcdef0123456789abcdef01234567',
  profile: 'full',
  timestamp: '2025-01-01T00:00:00.000Z',
  postgres: { mode: 'embedded', version: '18.1', reason: 'default' },
  pgmq: { kind: 'sql-compat', version: '1.7.0' },
  orchestrator: { mode: 'embedded', reason: 'default', workers: 2 },
}) as EnvironmentFingerprint

export interface SimulatedBench {
  file: string
  bench: string
  samples: readonly number[]
}

export function simulatedEntry({ file, bench, samples }: SimulatedBench): ResultEntry {
  return {
    file,
    module: `benchmarks/${file}.bench.ts`,
    test: bench,
    bench,
    source: 'bench',
    state: 'passed',
    unit: 'ms',
    ...summarize(samples),
    budgets: [],
    extra: {},
    samples: retainSamples(samples),
  }
}

export function simulatedDocument(benches: readonly SimulatedBench[], environment: Partial<EnvironmentFingerprint> = {}): ResultsDocument {
  return { schemaVersion: 1, environment: { ...SIMULATED_ENVIRONMENT, ...environment }, results: benches.map(simulatedEntry) }
}
