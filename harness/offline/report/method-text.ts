/** How a comparison decided, in words shared by the markdown, HTML and terminal reports. */
import type { Comparison } from '../compare/compare-runs.ts'
import { COMPARED_METRICS, NORMALIZED_MARGINS } from '../compare/margins.ts'

export function methodSentence(c: Comparison): string {
  const m = c.method
  const basis = m.rounds
    ? `estimated within each of the ${m.rounds} adjacent base/head pairs and combined over them (the pairs' disagreement counts as noise)`
    : 'the ratio of the two runs’ statistics (one run against one run: drift between runs is left to the margins, except in the drift-normalized figures E2E / floor, which divide out the run’s own speed)'
  return (
    `A metric regresses when its change, ${basis}, exceeds its margins (${m.margins}) and stands out from the noise ` +
    `(z beyond the two-sided α = ${m.alpha} split over the metrics)${m.rounds && m.rounds >= 2 ? ' and most rounds agree on the direction' : ''}. ` +
    `Only the headline metric of a gating bench fails the check; the rest informs. "Detectable" is the smallest slowdown flagged with 90 % probability at that margin and noise. ` +
    `p95 needs ≥ ${m.minSamplesP95}, p99 ≥ ${m.minSamplesP99} samples a side; fewer than ${m.minSamples} samples, or a different environment: not comparable.`
  )
}

/** Said whenever only built-in margins decided: what that means and how to do better. */
export function uncalibratedNote(c: Comparison): string | undefined {
  if (!c.method.uncalibrated) return undefined
  const margins = COMPARED_METRICS.map((metric) => `${metric} ${Math.round(c.method.builtIn[metric].relative * 100)} %`).join(', ')
  if (c.method.rounds) return `margins: built-in defaults for paired rounds (${margins}), chosen from npm run bench:power on a busy 2-core machine`
  const normalized = c.benches.filter((b) => b.normalized && b.gate).map((b) => b.bench)
  const wide = `margins: built-in WIDE defaults (${margins}) because there is no calibration data: two runs of the same code on a busy machine land this far apart, so only larger regressions are flagged. Run npm run bench:calibrate on the machine that compares (or use bench:ab) for tighter checks`
  return normalized.length > 0 ? `${wide}. The E2E gates (${normalized.join(', ')}) are drift-normalized and judged at ${Math.round(NORMALIZED_MARGINS.p50.relative * 100)} %` : wide
}
