/** Number formatting shared by the terminal lines, markdown and HTML reports. */

/** Milliseconds with 3 significant figures at most: 123, 12.3, 1.23, 0.123, 0.0012. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms)
  if (ms < 0) return `−${formatMs(-ms)}`
  const abs = Math.abs(ms)
  if (abs >= 100) return ms.toFixed(0)
  if (abs >= 10) return ms.toFixed(1)
  if (abs >= 1) return ms.toFixed(2)
  if (abs >= 0.001 || ms === 0) return ms.toFixed(3)
  return String(Number(ms.toPrecision(2)))
}

/** A signed change: +12.3 %, −4.0 %, ±0 %. Uses the real minus sign for readability. */
export function formatPercent(fraction: number): string {
  if (!Number.isFinite(fraction)) return fraction > 0 ? '+∞ %' : '−∞ %'
  const pct = fraction * 100
  if (Math.abs(pct) < 0.05) return '±0 %'
  const digits = Math.abs(pct) >= 100 ? 0 : 1
  return `${pct > 0 ? '+' : '−'}${Math.abs(pct).toFixed(digits)} %`
}

/** A signed millisecond difference: +0.110 ms, −2.40 ms. */
export function formatDeltaMs(ms: number): string {
  return `${ms > 0 ? '+' : ms < 0 ? '−' : '±'}${formatMs(Math.abs(ms))} ms`
}

/** p-values as people read them: p < 0.001, p = 0.012, p = 0.34. */
export function formatP(p: number): string {
  if (p < 0.001) return 'p < 0.001'
  return `p = ${p < 0.01 ? p.toFixed(3) : p.toFixed(2)}`
}

/** A short commit: the first 7 characters of a sha, keeping a -dirty suffix. */
export function shortCommit(commit: string): string {
  const m = /^([0-9a-f]{7})[0-9a-f]*(-dirty)?$/.exec(commit)
  return m ? `${m[1]}${m[2] ?? ''}` : commit
}
