/**
 * The run order of the power experiment (scripts/bench-power.ts). Each cycle runs one adjacent
 * base/head pair per condition: identical code (0 %) and each injected slowdown. Within a pair
 * the order alternates from pair to pair (base first, then head first, …) as in bench:ab, and the
 * conditions rotate from cycle to cycle, so neither side nor any condition always runs in the
 * same phase of the machine.
 */
import type { Side } from './ab-plan.ts'

export interface PowerRun {
  cycle: number
  /** the slowdown the head side carries, as a fraction of the reference p50 (0: identical code) */
  effect: number
  side: Side
}

export function powerPlan(cycles: number, effects: readonly number[]): PowerRun[] {
  if (!Number.isInteger(cycles) || cycles < 1) throw new RangeError(`cycles ${cycles} must be a whole number ≥ 1`)
  const conditions = [0, ...effects]
  const plan: PowerRun[] = []
  let pair = 0
  for (let cycle = 1; cycle <= cycles; cycle++) {
    const shift = (cycle - 1) % conditions.length
    const rotated = [...conditions.slice(shift), ...conditions.slice(0, shift)]
    for (const effect of rotated) {
      const order: Side[] = pair++ % 2 === 0 ? ['base', 'head'] : ['head', 'base']
      for (const side of order) plan.push({ cycle, effect, side })
    }
  }
  return plan
}

/** The per-step delay that slows a task of `steps` sequential steps by `effect` × `p50Ms`. */
export function stepDelayFor(effect: number, p50Ms: number, steps: number): number {
  if (effect === 0) return 0
  return Math.round(((effect * p50Ms) / steps) * 1000) / 1000
}

/** Runs of the unchanged code whose p50s size the slowdowns: recent enough to follow the machine. */
export const SIZING_RUNS = 7

/** The p50 that sizes the next slowdown: the median of the last SIZING_RUNS identical-code p50s. */
export function sizingP50(identicalP50s: readonly number[]): number {
  const recent = identicalP50s.slice(-SIZING_RUNS).filter((x) => Number.isFinite(x) && x > 0).sort((a, b) => a - b)
  if (recent.length === 0) throw new RangeError('sizingP50: no identical-code run with a p50 yet')
  const mid = recent.length >> 1
  return recent.length % 2 === 1 ? recent[mid]! : (recent[mid - 1]! + recent[mid]!) / 2
}
