/**
 * The Mann–Whitney U test (Wilcoxon rank-sum) of two independent samples, with the normal
 * approximation, the tie correction of its variance and a continuity correction — the textbook
 * large-sample form, valid here because a comparison needs at least 20 samples per side.
 *
 * Rank all n1 + n2 values together (tied values share the mean of their ranks); R2 is the rank sum
 * of the second sample and U2 = R2 − n2(n2 + 1)/2 counts the pairs in which the second sample is
 * larger (ties count ½). Under "same distribution" U2 has mean n1·n2/2 and variance
 * n1·n2/12 · ((N + 1) − Σ(t³ − t) / (N(N − 1))), N = n1 + n2, t the size of each group of ties.
 */
import { twoSidedP } from './normal.ts'
import { ascending } from './sorted.ts'

export interface MannWhitneyResult {
  n1: number
  n2: number
  /** U of the second sample: pairs (x, y) with y > x, plus half the ties */
  u: number
  /** continuity-corrected z; positive when the second sample tends to be larger */
  z: number
  /** two-sided p-value */
  pValue: number
  /**
   * P(Y > X) + ½·P(Y = X) for a random pair: 0.5 means no shift, above 0.5 the second sample
   * (the current run) tends to be slower. U2 / (n1·n2).
   */
  probabilityOfSuperiority: number
}

/** `x`: the baseline samples, `y`: the current ones (any order; sorted copies are made when needed). */
export function mannWhitneyU(x: readonly number[], y: readonly number[]): MannWhitneyResult {
  const n1 = x.length
  const n2 = y.length
  if (n1 === 0 || n2 === 0) throw new RangeError(`Mann–Whitney U needs samples on both sides (got ${n1} and ${n2})`)
  const xs = ascending(x)
  const ys = ascending(y)

  // Walk both sorted lists together, one group of equal values at a time.
  let i = 0
  let j = 0
  let ranksBelow = 0
  let rankSumY = 0
  let tieTerm = 0
  while (i < n1 || j < n2) {
    const value = Math.min(i < n1 ? xs[i]! : Infinity, j < n2 ? ys[j]! : Infinity)
    let inX = 0
    let inY = 0
    while (i < n1 && xs[i] === value) {
      i++
      inX++
    }
    while (j < n2 && ys[j] === value) {
      j++
      inY++
    }
    const t = inX + inY
    rankSumY += inY * (ranksBelow + (t + 1) / 2)
    tieTerm += t * t * t - t
    ranksBelow += t
  }

  const n = n1 + n2
  const u = rankSumY - (n2 * (n2 + 1)) / 2
  const mean = (n1 * n2) / 2
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)))
  const distance = Math.abs(u - mean)
  const z = variance > 0 && distance > 0.5 ? (Math.sign(u - mean) * (distance - 0.5)) / Math.sqrt(variance) : 0
  return { n1, n2, u, z, pValue: twoSidedP(z), probabilityOfSuperiority: u / (n1 * n2) }
}
