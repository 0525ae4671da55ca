/**
 * The markdown summary: fit for $GITHUB_STEP_SUMMARY and a pull-request comment (GitHub-flavoured
 * tables, a collapsed section with the reasons, well under the 65 536-character comment limit).
 * With a comparison: one row per bench with baseline, current, change and verdict, regressions
 * first. Without one: the run's own figures and budgets.
 */
import type { BenchComparison, Comparison, Verdict } from '../compare/compare-runs.ts'
import type { RegressionPolicy } from '../compare/settings.ts'
import type { ResultEntry, ResultsDocument } from '../results/schema.ts'
import { environmentDifferencesLine } from './environment-differences.ts'
import { environmentLine } from './environment-lines.ts'
import { formatMs, formatPercent, shortCommit } from './format.ts'

/** The first line of every summary: lets a workflow find and update its earlier PR comment. */
export const COMMENT_MARKER = '<!-- tasker-bench-report -->'

/** GitHub rejects comments over 65 536 characters; stay clear of it. */
export const MAX_MARKDOWN_CHARS = 60_000

export interface MarkdownInput {
  current: ResultsDocument
  comparison?: Comparison
  policy?: RegressionPolicy
  /** e.g. "HTML report: results/report.html (workflow artifact)" */
  footer?: string
}

const BADGE: Record<Verdict, string> = {
  regressed: '🔴 **regressed**',
  improved: '🟢 improved',
  unchanged: '⚪ unchanged',
  'not comparable': '❔ not comparable',
}

const ORDER: Record<Verdict, number> = { regressed: 0, improved: 1, 'not comparable': 2, unchanged: 3 }

export function renderMarkdown(input: MarkdownInput): string {
  const lines = input.comparison ? comparisonMarkdown(input.comparison, input.policy ?? 'blocking') : runMarkdown(input.current)
  lines.push(...budgetLines(input.current.results))
  if (input.footer) lines.push('', input.footer)
  let text = `${COMMENT_MARKER}\n${lines.join('\n')}\n`
  if (text.length > MAX_MARKDOWN_CHARS) {
    text = `${text.slice(0, MAX_MARKDOWN_CHARS - 200)}\n\n… (truncated: the full report is in the results directory)\n`
  }
  return text
}

function comparisonMarkdown(c: Comparison, policy: RegressionPolicy): string[] {
  const { counts } = c
  const headline = [
    counts.regressed > 0 ? `**${counts.regressed} regressed**` : '0 regressed',
    `${counts.improved} improved`,
    `${counts.unchanged} unchanged`,
    ...(counts['not comparable'] > 0 ? [`${counts['not comparable']} not comparable`] : []),
  ].join(' · ')
  const lines = [`### tasker-bench: ${headline}`, '']
  if (!c.environment.comparable) {
    lines.push(`> [!WARNING]`, `> Not compared: the environments differ (${environmentDifferencesLine(c.environment.differences)}).`, '')
  } else if (c.environment.ignored) {
    lines.push(`> [!NOTE]`, `> Compared although the environments differ: ${environmentDifferencesLine(c.environment.differences)}.`, '')
  }
  if (counts.regressed > 0) {
    lines.push(
      policy === 'blocking'
        ? '**Regressions fail this check** (set `BENCH_REGRESSION=informational` to only report them).'
        : 'Regressions are reported only (`BENCH_REGRESSION=informational`).',
      '',
    )
  }
  const rows = [...c.benches].sort((a, b) => ORDER[a.verdict] - ORDER[b.verdict])
  lines.push(
    `| bench | ${escapeCell(c.labels.baseline)} p50 · p95 | ${escapeCell(c.labels.current)} p50 · p95 | change p50 · p95 | verdict |`,
    '|---|--:|--:|--:|---|',
  )
  for (const row of rows) lines.push(comparisonRow(row))
  lines.push('', '<details><summary>Why each verdict</summary>', '')
  for (const row of rows) lines.push(`- **${escapeCell(row.id)}** — ${row.verdict}: ${escapeCell(row.reason)}`)
  lines.push('', '</details>', '')
  const method = c.method
  const baseEnv = c.environments.baseline
  const curEnv = c.environments.current
  lines.push(
    `**Environment** ${environmentLine(curEnv)}`,
    '',
    `**Compared** ${escapeCell(c.labels.baseline)} \`${shortCommit(baseEnv.commit)}\` (${baseEnv.timestamp}) → ${escapeCell(c.labels.current)} \`${shortCommit(curEnv.commit)}\` (${curEnv.timestamp})` +
      `${method.rounds ? ` · ${method.rounds} interleaved rounds` : ''} · a bench regresses when worse by more than its margins ` +
      `(${escapeCell(method.margins)}) and the difference is significant (Mann–Whitney U for p50, bootstrap CI for p95, each at α/2 = ${method.alpha / 2}` +
      `${method.rounds && method.rounds >= 2 ? '; and beyond the variation between rounds, t-test on the per-round values' : ''})`,
  )
  return lines
}

function comparisonRow(row: BenchComparison): string {
  const pair = (s: { p50: number; p95: number } | undefined) => (s ? `${formatMs(s.p50)} · ${formatMs(s.p95)} ms` : '—')
  const p50 = row.metrics.find((m) => m.metric === 'p50')
  const p95 = row.metrics.find((m) => m.metric === 'p95')
  const change = p50 ? `${formatPercent(p50.relative)} · ${p95 && p95.verdict !== 'not compared' ? formatPercent(p95.relative) : '—'}` : '—'
  const verdict = row.verdict === 'not comparable' ? `${BADGE[row.verdict]}: ${escapeCell(row.reason)}` : BADGE[row.verdict]
  return `| ${escapeCell(row.id)} | ${pair(row.baseline)} | ${pair(row.current)} | ${change} | ${verdict} |`
}

function runMarkdown(doc: ResultsDocument): string[] {
  const lines = [`### tasker-bench: ${doc.results.length} measurement${doc.results.length === 1 ? '' : 's'}`, '']
  lines.push('| bench | n | p50 | p95 | p99 | max | budgets |', '|---|--:|--:|--:|--:|--:|---|')
  for (const e of doc.results) {
    const budgets = checksCell(e.budgets)
    const p99 = `${formatMs(e.p99)}${e.p99Meaningful ? '' : '*'}`
    lines.push(`| ${escapeCell(`${e.file} > ${e.bench}`)} | ${e.n} | ${formatMs(e.p50)} | ${formatMs(e.p95)} | ${p99} | ${formatMs(e.max)} | ${budgets} |`)
  }
  lines.push('', 'Latencies in ms. * p99 from fewer than 100 samples: not meaningful.', '', `**Environment** ${environmentLine(doc.environment)} · commit \`${shortCommit(doc.environment.commit)}\``)
  return lines
}

/** Budget violations of the run (in every round, for a pooled interleaved run). */
function budgetLines(results: readonly ResultEntry[]): string[] {
  const violations: string[] = []
  let checks = 0
  for (const e of results) {
    const byExpression = new Map<string, { operator: string; failed: number[]; total: number }>()
    for (const b of e.budgets) {
      if (b.target) continue
      checks++
      const seen = byExpression.get(b.expression) ?? { operator: b.operator, failed: [], total: 0 }
      seen.total++
      if (!b.passed) seen.failed.push(b.observed)
      byExpression.set(b.expression, seen)
    }
    for (const [expression, s] of byExpression) {
      if (s.failed.length === 0) continue
      // the observation furthest on the wrong side of the limit
      const worst = s.operator.startsWith('>') ? Math.min(...s.failed) : Math.max(...s.failed)
      const rounds = s.total > 1 ? ` in ${s.failed.length} of ${s.total} rounds` : ''
      violations.push(`- ${escapeCell(`${e.file} > ${e.bench}`)}: \`${expression}\` violated${rounds} (observed ${formatMs(worst)})`)
    }
  }
  if (checks === 0) return []
  return violations.length === 0 ? ['', `**Budgets** all held.`] : ['', `**Budgets** ❌ ${violations.length} violated:`, ...violations]
}

/** `✅ 2 held`, `❌ 1 of 2 violated`, plus `🎯 1 of 2 targets met` when the bench has targets. */
function checksCell(checks: ResultEntry['budgets']): string {
  const budgets = checks.filter((b) => !b.target)
  const targets = checks.filter((b) => b.target)
  const parts: string[] = []
  const failed = budgets.filter((b) => !b.passed).length
  if (budgets.length > 0) parts.push(failed > 0 ? `❌ ${failed} of ${budgets.length} violated` : `✅ ${budgets.length} held`)
  if (targets.length > 0) parts.push(`🎯 ${targets.filter((b) => b.passed).length} of ${targets.length} targets met`)
  return parts.length > 0 ? parts.join(' · ') : '—'
}

/** Table cells: no pipes or line breaks. */
function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')
}
