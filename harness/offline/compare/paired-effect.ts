/**
 * The effect of a change, estimated from pairs of runs: base and head of one round ran next to each
 * other, so their ratio is free of whatever the machine did between rounds. Per pair r:
 *
 *   d_r = ln(head_r / base_r)            the round's effect (log scale: a factor)
 *   v_r = se(base_r)² + se(head_r)²      its sampling variance within the round (run-statistic.ts)
 *
 * combined over R pairs (a blocked design, each round a block):
 *
 *   D   = mean of d_r                    every round weighs the same: no lucky round dominates
 *   τ²  = max(0, var(d_r) − mean(v_r))   how much the pairs disagree beyond their sampling noise
 *                                        (drift inside a pair), 0 with one pair
 *   SE² = (mean(v_r) + τ²) / R
 *   z   = D / SE
 *
 * A single comparison of two runs is the case R = 1: the sampling noise is all it can see, which is
 * why baseline comparisons lean on margins that cover run-to-run drift (margins.ts).
 */
import type { RunStatistic } from './run-statistic.ts'

export interface PairedEffect {
  /** pairs that entered the estimate */
  rounds: number
  /** each round's relative effect: head / base − 1 */
  perRound: number[]
  /** rounds in which head was slower than base */
  slower: number
  /** D: mean log ratio */
  logEffect: number
  /** exp(D) − 1 */
  relative: number
  /** SE of D */
  logSe: number
  /** the between-pair variance beyond sampling noise (τ²), log scale */
  heterogeneity: number
  /** D / SE (±Infinity when SE is 0) */
  z: number
}

export function pairedEffect(pairs: ReadonlyArray<{ base: RunStatistic; head: RunStatistic }>): PairedEffect {
  const usable = pairs.filter((p) => p.base.value > 0 && p.head.value > 0)
  if (usable.length === 0) throw new RangeError('pairedEffect: no pair with positive values on both sides')
  const R = usable.length
  const d = usable.map((p) => Math.log(p.head.value / p.base.value))
  const v = usable.map((p) => p.base.logSe ** 2 + p.head.logSe ** 2)
  const D = mean(d)
  const within = mean(v)
  const between = R >= 2 ? d.reduce((s, x) => s + (x - D) ** 2, 0) / (R - 1) : 0
  const heterogeneity = Math.max(0, between - within)
  const logSe = Math.sqrt((within + heterogeneity) / R)
  return {
    rounds: R,
    perRound: d.map(Math.expm1),
    slower: d.filter((x) => x > 0).length,
    logEffect: D,
    relative: Math.expm1(D),
    logSe,
    heterogeneity,
    z: logSe > 0 ? D / logSe : D === 0 ? 0 : Math.sign(D) * Infinity,
  }
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length
}
