/**
 * The order of runs in an interleaved A/B comparison. Rounds alternate which side goes first
 * (base, head | head, base | base, head …, an ABBA design): a steady drift of the machine during
 * the job — warming up, a neighbour's load fading — then weighs on both sides equally instead of
 * always favouring whichever side runs second.
 */
export type Side = 'base' | 'head'

export interface PlannedRun {
  /** 1-based */
  round: number
  side: Side
}

export const MAX_ROUNDS = 10

export function interleavedPlan(rounds: number): PlannedRun[] {
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > MAX_ROUNDS) {
    throw new RangeError(`--rounds ${rounds} must be a whole number within 1..${MAX_ROUNDS}`)
  }
  const plan: PlannedRun[] = []
  for (let round = 1; round <= rounds; round++) {
    const order: Side[] = round % 2 === 1 ? ['base', 'head'] : ['head', 'base']
    for (const side of order) plan.push({ round, side })
  }
  return plan
}
