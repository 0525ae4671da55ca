/** Judging the power experiment's pool of real runs (scripts/bench-power.ts). */
export interface PowerRunRecord {
  name: string
  cycle: number
  effect: number
  side: 'base' | 'head'
  delayMs: number
  /** latest.json, relative to the experiment directory */
  file: string
  durationMs: number
  at: string
}

export interface PowerManifest {
  bench: string
  filters: string[]
  samples: number
  startedAt: string
  reference: { p50Ms: number; steps: number }
  /** effect (fraction, as text) → per-step delay in ms */
  delays: Record<string, number>
  runs: PowerRunRecord[]
}

export interface PowerAnalysis {
  lines: string[]
}

export function analysePower(_manifest: PowerManifest, _dir: string, _options: { rounds: number; bench: string }): PowerAnalysis {
  return { lines: ['(analysis not yet implemented: rerun with --analyse)'] }
}

export function formatPowerTable(a: PowerAnalysis): string[] {
  return a.lines
}
