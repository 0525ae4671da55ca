/**
 * Vitest bench options for a fixed number of calls. Every bench here counts samples instead of
 * running for a time (time: 0, warmupTime: 0): a slow or busy machine then takes longer rather
 * than measuring less, and a budget's percentile always rests on the same number of samples.
 */
import { sampleCount, type ProfileName } from '../config/profile.ts'

export interface FixedCountOptions {
  iterations: number
  time: 0
  warmupIterations: number
  warmupTime: 0
}

/** Exactly `iterations` timed calls after `warmupIterations` untimed ones. */
export function fixedCount(iterations: number, warmupIterations: number): FixedCountOptions {
  return { iterations, time: 0, warmupIterations, warmupTime: 0 }
}

/** `samples` and `warmup` as a full run takes them, scaled down in the smoke profile (sampleCount). */
export function benchOptions(run: { profile: ProfileName }, samples: number, warmup: number): FixedCountOptions {
  return fixedCount(sampleCount(run, samples), sampleCount(run, warmup))
}
