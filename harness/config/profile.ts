/**
 * What BENCH_PROFILE changes, in one place. `full` is the real measurement; `smoke` (npm test)
 * runs every bench with a handful of samples, enough to prove it works, not to measure.
 *   PROFILE_DEFAULTS  variables whose default depends on the profile: VARIABLES describes them
 *                     from this table and test/config.test.ts checks .env.example against it
 *   sampleCount       how smoke scales a bench's own fixed sample counts
 */
import type { Settings } from './settings.ts'

/** BENCH_PROFILE's values (written out: VARIABLES, which Settings comes from, reads this module). */
export type ProfileName = 'full' | 'smoke'

export const PROFILE_DEFAULTS = {
  BENCH_BUDGET_SCALE: { full: 1, smoke: 10 },
  BENCH_E2E_SAMPLES: { full: 200, smoke: 5 },
  BENCH_SQL_SCALES: { full: [1_000, 10_000, 100_000], smoke: [200] },
  BENCH_LOAD_RATES: { full: [25, 50, 100, 200], smoke: [10] },
  BENCH_LOAD_SECONDS: { full: 10, smoke: 2 },
} as const satisfies Record<string, Record<ProfileName, number | readonly number[]>>

export type ProfileDefaulted = keyof typeof PROFILE_DEFAULTS

/** The variable as set, else its default in the run's profile. */
export function profileValue<K extends ProfileDefaulted>(
  settings: Pick<Settings, K | 'BENCH_PROFILE'>,
  name: K,
): NonNullable<Settings[K]> {
  const value = settings[name] ?? PROFILE_DEFAULTS[name][settings.BENCH_PROFILE]
  return (Array.isArray(value) ? [...value] : value) as NonNullable<Settings[K]>
}

/** `default 200; smoke 5`: how VARIABLES and .env.example state a profile default. */
export function profileDefaultText(name: ProfileDefaulted): string {
  const show = (v: number | readonly number[]) => (typeof v === 'number' ? String(v) : v.join(','))
  const { full, smoke } = PROFILE_DEFAULTS[name]
  return `default ${show(full)}; smoke ${show(smoke)}`
}

/** A bench's fixed count (samples, warm-up calls) in the run's profile: as given in full, about 1 % (at least 5) in smoke. */
export function sampleCount(run: { profile: ProfileName }, full: number): number {
  if (run.profile === 'full') return full
  return Math.min(full, Math.max(5, Math.ceil(full / 100)))
}
