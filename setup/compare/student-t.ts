/**
 * Student's t, for the tests where runs (not samples) are the unit: calibration's prediction
 * bound and the rounds test of an interleaved A/B run. Few runs means few degrees of freedom, and
 * t's heavier tails make the verdicts honest about it.
 */

/** One-sided 0.99 quantile for 1..30 degrees of freedom (textbook table; SciPy agrees to 3 decimals). */
const T_99 = [
  31.821, 6.965, 4.541, 3.747, 3.365, 3.143, 2.998, 2.896, 2.821, 2.764, 2.718, 2.681, 2.65, 2.624, 2.602, 2.583, 2.567, 2.552, 2.539, 2.528, 2.518, 2.508, 2.5,
  2.492, 2.485, 2.479, 2.473, 2.467, 2.462, 2.457,
]

/** t(0.99, df); beyond 30 degrees of freedom the 30-row value (slightly conservative). */
export function studentT99(degreesOfFreedom: number): number {
  if (!Number.isInteger(degreesOfFreedom) || degreesOfFreedom < 1) throw new RangeError(`degrees of freedom ${degreesOfFreedom} must be a whole number ≥ 1`)
  return T_99[Math.min(degreesOfFreedom, T_99.length) - 1]!
}

export interface TwoSampleT {
  /** mean(b) − mean(a) */
  difference: number
  t: number
  degreesOfFreedom: number
}

/** Student's two-sample t with pooled variance; needs at least 3 values in all. */
export function twoSampleT(a: readonly number[], b: readonly number[]): TwoSampleT {
  const degreesOfFreedom = a.length + b.length - 2
  if (a.length < 1 || b.length < 1 || degreesOfFreedom < 1) throw new RangeError(`a two-sample t needs 3 values or more (got ${a.length} and ${b.length})`)
  const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length
  const squares = (xs: readonly number[], m: number) => xs.reduce((s, x) => s + (x - m) ** 2, 0)
  const ma = mean(a)
  const mb = mean(b)
  const pooled = (squares(a, ma) + squares(b, mb)) / degreesOfFreedom
  const se = Math.sqrt(pooled * (1 / a.length + 1 / b.length))
  const difference = mb - ma
  const t = se > 0 ? difference / se : difference === 0 ? 0 : Math.sign(difference) * Infinity
  return { difference, t, degreesOfFreedom }
}
