/**
 * Sample counts by profile: `full` uses what the bench asks for; `smoke` (npm test) runs every
 * bench with a handful of samples, enough to prove it works, not to measure.
 */
export function sampleCount(run: { profile: 'full' | 'smoke' }, full: number): number {
  if (run.profile === 'full') return full
  return Math.min(full, Math.max(5, Math.ceil(full / 100)))
}
