/** Console lines about a comparison: the counts, then one line per bench that is not unchanged. */
import type { Comparison } from '../compare/compare-runs.ts'
import { environmentDifferencesLine } from './environment-differences.ts'

export function comparisonLines(c: Comparison, against: string): string[] {
  const counts = `${c.counts.regressed} regressed, ${c.counts.improved} improved, ${c.counts.unchanged} unchanged, ${c.counts['not comparable']} not comparable`
  const lines = [`comparison with ${against}: ${counts}`]
  if (!c.environment.comparable) lines.push(`  environments differ: ${environmentDifferencesLine(c.environment.differences)}`)
  else if (c.environment.ignored) lines.push(`  compared although the environments differ: ${environmentDifferencesLine(c.environment.differences)}`)
  const width = Math.max(...c.benches.map((b) => b.verdict.length), 0)
  for (const verdict of ['regressed', 'improved', 'not comparable'] as const) {
    for (const b of c.benches.filter((x) => x.verdict === verdict)) {
      // environment problems were said once above
      if (verdict === 'not comparable' && !c.environment.comparable) continue
      lines.push(`  ${verdict.padEnd(width)}  ${b.id}: ${b.reason}`)
    }
  }
  return lines
}

/** Paths relative to the working directory when that is shorter. */
export function shownPath(file: string, cwd: string = process.cwd()): string {
  const rel = file.startsWith(cwd + '/') ? file.slice(cwd.length + 1) : file
  return rel
}
