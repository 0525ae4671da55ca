/**
 * The conformance table: the same benches on two databases of one server, side by side, one row
 * per bench (function × scale, or NOTIFY case) with p50 / p95 / p99 of each and the ratio of the
 * p50s, plus what each side ran (pgmq, function hashes), then the findings (findings-report.ts).
 * A get_next_ready_tasks row gets no bare ratio where the two offer different candidate tasks at
 * that scale: the cell says so and gives the rows each returned.
 */
import { formatMs } from '../../results/format.ts'
import type { Finding } from '../../results/findings.ts'
import type { ResultsDocument } from '../../results/schema.ts'
import { candidateComparison, findingsReport } from './findings-report.ts'

export interface Side {
  label: string
  doc: ResultsDocument
  /** the run's findings (<resultsDir>/findings), when it made any */
  findings?: Finding[]
}

export function sideBySide(left: Side, right: Side): string {
  const byBench = (doc: ResultsDocument) => new Map(doc.results.map((r) => [r.bench, r]))
  const [l, r] = [byBench(left.doc), byBench(right.doc)]
  const benches = [...new Set([...l.keys(), ...r.keys()])]
  const candidates = candidateComparison(left, right)
  const cell = (x: { p50: number; p95: number; p99: number; n: number } | undefined) =>
    x ? `${formatMs(x.p50)} / ${formatMs(x.p95)} / ${formatMs(x.p99)}${x.n < 100 ? ` (n=${x.n})` : ''}` : '—'
  const lines = [
    `| bench | ${left.label} p50 / p95 / p99 ms | ${right.label} p50 / p95 / p99 ms | ${right.label} ÷ ${left.label} (p50) |`,
    '|---|---|---|---|',
    ...benches.map((b) => {
      const [x, y] = [l.get(b), r.get(b)]
      const scale = / @([^ ]+)$/.exec(b)?.[1]
      const claims = b.startsWith('get_next_ready_tasks') && scale !== undefined && x?.extra?.historyTasks === undefined
      const sets = claims ? candidates.get(scale) : undefined
      const rows = (e: typeof x) => String(e?.extra?.returnedRows ?? '?')
      const bare = x && y && x.p50 > 0 ? `${(y.p50 / x.p50).toFixed(2)}×` : '—'
      const ratio = sets?.same === false
        ? `not like for like: different candidate sets (rows returned ${rows(x)} / ${rows(y)})`
        : claims && !sets && x && y ? `${bare} (candidate sets not compared at this scale)` : bare
      return `| ${b} | ${cell(x)} | ${cell(y)} | ${ratio} |`
    }),
    '',
    ...[left, right].map((s) => `${s.label}: pgmq ${s.doc.environment.pgmq?.kind ?? '?'} ${s.doc.environment.pgmq?.version ?? '?'}; functions ${describeFunctions(s.doc)}`),
    ...(left.findings || right.findings ? findingsReport(left, right) : []),
  ]
  return lines.join('\n')
}

function describeFunctions(doc: ResultsDocument): string {
  const f = doc.environment.functions ?? {}
  const entries = Object.entries(f)
  return entries.length === 0 ? 'unknown' : entries.map(([name, hash]) => `${name} ${hash.slice(0, 8)}`).join(', ')
}
