/**
 * Student's t, for the tests where runs (not samples) are the unit: calibration's prediction
 * bound and the rounds test of an interleaved A/B run. Few runs means few degrees of freedom, and
 * t's heavier tails make the verdicts honest about it.
 *
 * The distribution function is the integral of the density
 *   f(x) = Γ((ν + 1)/2) / (√(νπ) · Γ(ν/2)) · (1 + x²/ν)^(−(ν + 1)/2)
 * by Simpson's rule (Γ by the Lanczos approximation), and quantiles are found by bisection on it:
 * accurate to about 1e-6, far more than a verdict needs, and checked against the textbook table.
 */

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; relative error below 1e-13). */
function lnGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7]
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x)
  const z = x - 1
  let sum = c[0]!
  for (let i = 1; i < 9; i++) sum += c[i]! / (z + i)
  const t = z + 7.5
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum)
}

/** P(T ≤ t) for ν degrees of freedom. */
export function studentCdf(t: number, degreesOfFreedom: number): number {
  const nu = degreesOfFreedom
  const logNorm = lnGamma((nu + 1) / 2) - lnGamma(nu / 2) - 0.5 * Math.log(nu * Math.PI)
  const density = (x: number) => Math.exp(logNorm - ((nu + 1) / 2) * Math.log1p((x * x) / nu))
  const end = Math.abs(t)
  const steps = 4000 // even, for Simpson
  const h = end / steps
  let sum = density(0) + density(end)
  for (let i = 1; i < steps; i++) sum += (i % 2 === 1 ? 4 : 2) * density(i * h)
  const half = (sum * h) / 3
  return t >= 0 ? 0.5 + half : 0.5 - half
}

const cache = new Map<string, number>()

/** The p-quantile (0.5 < p < 1) of Student's t with the given degrees of freedom. */
export function studentQuantile(p: number, degreesOfFreedom: number): number {
  if (!Number.isInteger(degreesOfFreedom) || degreesOfFreedom < 1) throw new RangeError(`degrees of freedom ${degreesOfFreedom} must be a whole number ≥ 1`)
  if (!(p > 0.5 && p < 1)) throw new RangeError(`studentQuantile p=${p} must be between 0.5 and 1`)
  const key = `${p}/${degreesOfFreedom}`
  const known = cache.get(key)
  if (known !== undefined) return known
  let lo = 0
  let hi = 1
  while (studentCdf(hi, degreesOfFreedom) < p && hi < 1e6) hi *= 2
  for (let i = 0; i < 50; i++) {
    const mid = (lo + hi) / 2
    if (studentCdf(mid, degreesOfFreedom) < p) lo = mid
    else hi = mid
  }
  const q = (lo + hi) / 2
  cache.set(key, q)
  return q
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
