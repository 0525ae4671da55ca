/**
 * The order of runs in an interleaved A/B comparison. Rounds alternate which side goes first
 * (base, head | head, base | base, head …, an ABBA design): a steady drift of the machine during
 * the job — warming up, a neighbour's load fading — then weighs on both sides equally instead of
 * always favouring whichever side runs second.
 *
 * The first `rounds` rounds run every bench asked for; the rounds after them, up to `gateRounds`,
 * run only the files of the gating benches. The gates need the rounds: on a 2-core machine two
 * runs of identical code differ by about 13 % in `e2e linear` p50 (each run's processes keep their
 * own luck for the whole run), so catching a 20 % slowdown 9 times in 10 takes about 9 pairs
 * (docs/regression-checks.md, "What the check catches"), while the informing benches are fine with a few.
 */
export type Side = 'base' | 'head'

export interface PlannedRun {
  /** 1-based */
  round: number
  side: Side
  /** every bench asked for, or only the gating benches' files */
  scope: 'all' | 'gating'
}

export const MAX_ROUNDS = 20
/** rounds of every bench: the work per task is judged from the first round (docs/regression-checks.md) */
export const DEFAULT_ROUNDS = 1
/**
 * rounds in all of the gating benches' files: 1, so the default check is one round, 17 minutes on
 * a 2-core machine (measured: 8 min per full run; each further gate round adds ~6.5 min); a 20 %
 * slowdown of e2e linear p50 needs 9 there (npm run bench:power, docs/regression-checks.md)
 */
export const DEFAULT_GATE_ROUNDS = 1

export function interleavedPlan(rounds: number, gateRounds = rounds): PlannedRun[] {
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > MAX_ROUNDS) {
    throw new RangeError(`--rounds ${rounds} must be a whole number within 1..${MAX_ROUNDS}`)
  }
  if (!Number.isInteger(gateRounds) || gateRounds < rounds || gateRounds > MAX_ROUNDS) {
    throw new RangeError(`--gate-rounds ${gateRounds} must be a whole number within ${rounds} (--rounds)..${MAX_ROUNDS}`)
  }
  const plan: PlannedRun[] = []
  for (let round = 1; round <= gateRounds; round++) {
    const order: Side[] = round % 2 === 1 ? ['base', 'head'] : ['head', 'base']
    for (const side of order) plan.push({ round, side, scope: round <= rounds ? 'all' : 'gating' })
  }
  return plan
}
