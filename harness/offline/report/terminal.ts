/** Console lines about a comparison: the counts and gates, then one line per bench that is not unchanged. */
import { gateRegressed, type Comparison } from '../compare/compare-runs.ts'
import { uncalibratedNote } from './method-text.ts'
import { sqlDiffLines } from '../compare/work-compare.ts'
import { environmentDifferencesLine } from './environment-differences.ts'

export function comparisonLines(c: Comparison, against: string): string[] {
  const counts = `${c.counts.regressed} regressed, ${c.counts.improved} improved, ${c.counts.unchanged} unchanged, ${c.counts['not comparable']} not comparable`
  const gates = c.gating.benches > 0 ? `; gating: ${c.gating.regressed} of ${c.gating.benches} regressed` : '; no gating bench measured'
  const lines = [`comparison with ${against}: ${counts}${gates}`]
  for (const w of c.work?.benches ?? []) {
    if (w.verdict === 'unchanged' && w.statements.length === 0) continue
    lines.push(`  work ${w.verdict}  ${w.id}${w.gate ? (w.verdict === 'regressed' ? ' [gates: fails]' : ' [gates]') : ' [informs]'}: ${w.reason}`)
    for (const line of sqlDiffLines(w).slice(0, 10)) lines.push(`    ${line}`)
  }
  if (!c.environment.comparable) lines.push(`  environments differ: ${environmentDifferencesLine(c.environment.differences)}`)
  else if (c.environment.ignored) lines.push(`  compared although the environments differ: ${environmentDifferencesLine(c.environment.differences)}`)
  const note = uncalibratedNote(c)
  if (note && c.environment.comparable) lines.push(`  ${note}`)
  const width = Math.max(...c.benches.map((b) => b.verdict.length), 0)
  for (const verdict of ['regressed', 'improved', 'not comparable'] as const) {
    for (const b of c.benches.filter((x) => x.verdict === verdict)) {
      // environment problems were said once above
      if (verdict === 'not comparable' && !c.environment.comparable) continue
      const role = b.gate ? (gateRegressed(b) ? ' [gates: fails]' : ' [gates]') : verdict === 'not comparable' ? '' : ' [informs]'
      lines.push(`  ${verdict.padEnd(width)}  ${b.id}${role}: ${b.reason}`)
    }
  }
  return lines
}

/** Paths relative to the working directory when that is shorter. */
export function shownPath(file: string, cwd: string = process.cwd()): string {
  const rel = file.startsWith(cwd + '/') ? file.slice(cwd.length + 1) : file
  return rel
}
