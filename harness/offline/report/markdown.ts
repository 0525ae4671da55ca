/**
 * The markdown summary: fit for $GITHUB_STEP_SUMMARY and a pull-request comment (GitHub-flavoured
 * tables, a collapsed section with the reasons, well under the 65 536-character comment limit).
 * With a comparison: work per task first (its verdict, then the SQL diff: the statements whose
 * calls, rows or blocks per task changed), then the gating benches (their headline metric, verdict and the smallest
 * slowdown the run could have detected), then the informational benches, collapsed, and one line per
 * bench on why. Without one: the run's headline figures, then each workflow's phase breakdown (the
 * trace phases of the end-to-end bench), collapsed. Either way the budget verdicts come right
 * after the first line.
 */
import { formatDetectable, gateRegressed, hasRegression, type BenchComparison, type Comparison, type Verdict } from '../compare/compare-runs.ts'
import { formatMargin, sqlDiffLines, type WorkComparison } from '../compare/work-compare.ts'
import type { RegressionPolicy } from '../compare/settings.ts'
import type { ResultEntry, ResultsDocument } from '../../results/schema.ts'
import { environmentDifferencesLine } from './environment-differences.ts'
import { environmentLine } from './environment-lines.ts'
import { escapeHtml } from './escape-html.ts'
import { formatMs, formatPercent, shortCommit } from '../../results/format.ts'
import { methodSentence, uncalibratedNote } from './method-text.ts'
import { efficiencyRows, efficiencyTable } from '../../results/efficiency.ts'

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
  const budgets = budgetLines(input.current.results)
  // After the headline and its blank line: what a reader of the pull request looks for first.
  if (budgets.length > 0) lines.splice(2, 0, ...budgets, '')
  // the efficiency figures are headline figures too: right after the budget verdicts
  const efficiency = efficiencyLines(input.current.results)
  if (efficiency.length > 0) lines.splice(budgets.length > 0 ? 2 + budgets.length + 1 : 2, 0, ...efficiency.slice(1), '')
  if (input.footer) lines.push('', input.footer)
  let text = `${COMMENT_MARKER}\n${lines.join('\n')}\n`
  if (text.length > MAX_MARKDOWN_CHARS) {
    text = `${text.slice(0, MAX_MARKDOWN_CHARS - 200)}\n\n… (truncated: the full report is in the results directory)\n`
  }
  return text
}

function comparisonMarkdown(c: Comparison, policy: RegressionPolicy): string[] {
  const { counts } = c
  const gating = c.benches.filter((b) => b.gate)
  const informing = c.benches.filter((b) => !b.gate)
  const gateHeadline =
    c.gating.regressed > 0
      ? `❌ **${c.gating.regressed} gating regression${c.gating.regressed === 1 ? '' : 's'}**`
      : gating.length > 0
        ? `✅ no gating regression (${gating.length} gating bench${gating.length === 1 ? '' : 'es'})`
        : 'no gating bench measured'
  const informCounts = [
    `${counts.regressed} regressed`,
    `${counts.improved} improved`,
    `${counts.unchanged} unchanged`,
    ...(counts['not comparable'] > 0 ? [`${counts['not comparable']} not comparable`] : []),
  ].join(' · ')
  const work = c.work ? workHeadline(c.work) : undefined
  const lines = [`### tasker-bench: ${work ? `${work} · time: ` : ''}${gateHeadline} · all benches: ${informCounts}`, '']
  if (!c.environment.comparable) {
    lines.push(`> [!WARNING]`, `> Not compared: the environments differ (${environmentDifferencesLine(c.environment.differences)}).`, '')
  } else if (c.environment.ignored) {
    lines.push(`> [!NOTE]`, `> Compared although the environments differ: ${environmentDifferencesLine(c.environment.differences)}.`, '')
  }
  if (c.work) lines.push(...workSection(c.work))
  if (hasRegression(c)) {
    lines.push(
      policy === 'blocking'
        ? '**Gating regressions fail this check** (set `BENCH_REGRESSION=informational` to only report them).'
        : 'Gating regressions are reported only (`BENCH_REGRESSION=informational`).',
      '',
    )
  }
  const note = uncalibratedNote(c)
  if (gating.length > 0) {
    lines.push(
      '#### Gating benches',
      '',
      `| bench | metric | ${escapeCell(c.labels.baseline)} | ${escapeCell(c.labels.current)} | change | verdict | detectable (90 %) |`,
      '|---|---|--:|--:|--:|---|--:|',
      ...[...gating].sort((a, b) => gateOrder(a) - gateOrder(b)).map(gatingRow),
      '',
      '"Detectable": the smallest slowdown this run would flag with 90 % probability at its margin, rounds and noise — "unchanged" means no change that large, not "proven equal".',
      '',
    )
  }
  if (note) lines.push(`> [!NOTE]`, `> ${note}.`, '')
  const rows = [...informing].sort((a, b) => ORDER[a.verdict] - ORDER[b.verdict])
  if (rows.length > 0) {
    lines.push(
      '<details><summary>Informational benches (do not gate): ' + informingCounts(rows) + '</summary>',
      '',
      `| bench | ${escapeCell(c.labels.baseline)} p50 · p95 | ${escapeCell(c.labels.current)} p50 · p95 | change p50 · p95 | verdict |`,
      '|---|--:|--:|--:|---|',
      ...rows.map(comparisonRow),
      '',
      '</details>',
      '',
    )
  }
  lines.push('<details><summary>Why each verdict</summary>', '')
  for (const row of [...gating, ...rows]) lines.push(`- **${escapeCell(row.id)}**${row.gate ? ` (gates on ${row.gate})` : ''} — ${row.verdict}: ${escapeCell(row.reason)}`)
  lines.push('', '</details>', '')
  const baseEnv = c.environments.baseline
  const curEnv = c.environments.current
  lines.push(
    `**Environment** ${environmentLine(curEnv)}`,
    '',
    `**Compared** ${escapeCell(c.labels.baseline)} \`${shortCommit(baseEnv.commit)}\` (${baseEnv.timestamp}) → ${escapeCell(c.labels.current)} \`${shortCommit(curEnv.commit)}\` (${curEnv.timestamp})` +
      `${c.method.rounds ? ` · ${c.method.rounds} interleaved rounds` : ''} · ${escapeCell(methodSentence(c))}`,
  )
  return lines
}

/** `❌ **work regressed**: e2e-latency > e2e linear`, `✅ work unchanged (2 gating benches)` */
function workHeadline(work: WorkComparison): string {
  const gating = work.benches.filter((b) => b.gate)
  const regressed = gating.filter((b) => b.verdict === 'regressed')
  if (regressed.length > 0) return `❌ **work regressed**: ${regressed.map((b) => escapeCell(b.id)).join(', ')}`
  if (gating.length === 0) return 'work: no gating bench counted'
  const improved = gating.filter((b) => b.verdict === 'improved')
  return improved.length > 0 ? `🟢 work down: ${improved.map((b) => escapeCell(b.id)).join(', ')}` : `✅ work unchanged (${gating.length} gating bench${gating.length === 1 ? '' : 'es'})`
}

/** Most statements shown per bench, and benches, in the SQL diff of a comment. */
const SQL_DIFF_LINES = 20
const SQL_DIFF_BENCHES = 8

/** The work verdict per bench, then the SQL diff, leading the comment: work is what a change does. */
function workSection(work: WorkComparison): string[] {
  const lines = [`#### Work per task (one run of each side; changed: beyond ${formatMargin(work.margin)})`, '']
  const shown = [...work.benches].sort((a, b) => Number(b.gate) - Number(a.gate) || ORDER[a.verdict] - ORDER[b.verdict])
  for (const b of shown) {
    if (!b.gate && b.verdict === 'unchanged' && b.statements.length === 0) continue
    const badge = b.verdict === 'regressed' ? (b.gate ? BADGE.regressed : '🟠 more work (informs)') : b.verdict === 'improved' ? BADGE.improved : BADGE.unchanged
    lines.push(`- **${escapeCell(b.id)}**${b.gate ? ' (gates)' : ''}: ${badge} — ${escapeCell(b.reason)}`)
  }
  if (work.oneSided.length > 0) lines.push(`- counted on one side only (not compared): ${work.oneSided.map(escapeCell).join(', ')}`)
  const diffs = shown.filter((b) => b.statements.length > 0)
  if (diffs.length === 0) {
    lines.push('', '**SQL diff**: no statement changed its calls, rows or blocks per task.', '')
    return lines
  }
  lines.push('', '**SQL diff**: the statements whose calls, rows or blocks per task changed (base → head)', '')
  for (const b of diffs.slice(0, SQL_DIFF_BENCHES)) {
    const diff = sqlDiffLines(b)
    const more = diff.length > SQL_DIFF_LINES ? [`  … ${diff.length - SQL_DIFF_LINES} more in comparison.json`] : []
    lines.push(`${escapeCell(b.id)}${b.stepsPerTask ? ` (${b.stepsPerTask} steps per task)` : ''}:`, '', '```diff', ...diff.slice(0, SQL_DIFF_LINES).map((l) => l.replace(/```/g, "'''")), ...more, '```', '')
  }
  if (diffs.length > SQL_DIFF_BENCHES) lines.push(`… and ${diffs.length - SQL_DIFF_BENCHES} more benches in comparison.json`, '')
  return lines
}

function gateOrder(row: BenchComparison): number {
  return gateRegressed(row) ? 0 : ORDER[row.verdict] + 1
}

function gatingRow(row: BenchComparison): string {
  const m = row.metrics.find((x) => x.metric === row.gate)
  if (!m || row.verdict === 'not comparable') return `| ${escapeCell(row.id)} | ${row.gate} | — | — | — | ${BADGE['not comparable']}: ${escapeCell(row.reason)} | — |`
  const verdict = m.verdict === 'regressed' ? BADGE.regressed : m.verdict === 'improved' ? BADGE.improved : m.verdict === 'not compared' ? `— ${escapeCell(m.note)}` : BADGE.unchanged
  const unit = row.normalized ? '×' : ' ms' // a drift-normalized figure is a ratio
  const witness = row.witnesses?.[0] ? ` · trace phase ${escapeCell(row.witnesses[0].phase)} ${formatPercent(row.witnesses[0].relative)} at z = ${row.witnesses[0].z.toFixed(1)}` : ''
  return `| ${escapeCell(row.id)} | ${m.metric} | ${formatMs(m.baseline)}${unit} | ${formatMs(m.current)}${unit} | ${formatPercent(m.relative)} | ${verdict}${witness} | ${formatDetectable(m.detectable)} |`
}

function informingCounts(rows: readonly BenchComparison[]): string {
  const by = (v: Verdict) => rows.filter((r) => r.verdict === v).length
  return VERDICT_LIST.filter((v) => by(v) > 0).map((v) => `${by(v)} ${v}`).join(' · ')
}

function comparisonRow(row: BenchComparison): string {
  const unit = row.normalized ? '×' : ' ms'
  const pair = (s: { p50: number; p95: number } | undefined) => (s ? `${formatMs(s.p50)} · ${formatMs(s.p95)}${unit}` : '—')
  const p50 = row.metrics.find((m) => m.metric === 'p50')
  const p95 = row.metrics.find((m) => m.metric === 'p95')
  const change = p50 ? `${formatPercent(p50.relative)} · ${p95 && p95.verdict !== 'not compared' ? formatPercent(p95.relative) : '—'}` : '—'
  const verdict = row.verdict === 'not comparable' ? `${BADGE[row.verdict]}: ${escapeCell(row.reason)}` : BADGE[row.verdict]
  return `| ${escapeCell(row.id)} | ${pair(row.baseline)} | ${pair(row.current)} | ${change} | ${verdict} |`
}

const VERDICT_LIST: readonly Verdict[] = ['regressed', 'improved', 'unchanged', 'not comparable']

function runMarkdown(doc: ResultsDocument): string[] {
  const lines = [`### tasker-bench: ${doc.results.length} measurement${doc.results.length === 1 ? '' : 's'}`, '']
  const phases = doc.results.filter(isPhase)
  lines.push(...resultTable('bench', doc.results.filter((e) => !isPhase(e)), (e) => `${e.file} > ${e.bench}`))
  lines.push('', 'Latencies in ms. * p99 from fewer than 100 samples: not meaningful.', '')
  for (const [workflow, rows] of groupBy(phases, (e) => `${e.file} > ${e.bench.slice(0, e.bench.indexOf(': '))}`)) {
    lines.push(
      `<details><summary>${escapeHtml(workflow)}: phase breakdown (${rows.length} phase${rows.length === 1 ? '' : 's'}, from traces)</summary>`,
      '',
      ...resultTable('phase', rows, (e) => e.bench.slice(e.bench.indexOf(': ') + 2)),
      '',
      '</details>',
      '',
    )
  }
  lines.push(`**Environment** ${environmentLine(doc.environment)} · commit \`${shortCommit(doc.environment.commit)}\``)
  return lines
}

/** A phase of a workflow's trace breakdown, recorded as `<workflow>: <phase>` (harness/bench/traces/report.ts). */
function isPhase(e: ResultEntry): boolean {
  return typeof e.extra?.phase === 'string' && e.bench.includes(': ')
}

function resultTable(first: string, rows: readonly ResultEntry[], name: (e: ResultEntry) => string): string[] {
  const out = [`| ${first} | n | p50 | p95 | p99 | max | budgets |`, '|---|--:|--:|--:|--:|--:|---|']
  for (const e of rows) {
    const p99 = `${formatMs(e.p99)}${e.p99Meaningful ? '' : '*'}`
    out.push(`| ${escapeCell(name(e))} | ${e.n} | ${formatMs(e.p50)} | ${formatMs(e.p95)} | ${p99} | ${formatMs(e.max)} | ${checksCell(e.budgets)} |`)
  }
  return out
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>()
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item])
  return groups
}

/** The baselines bench's efficiency table (E2E vs floor and peer, per workflow), when it ran. */
function efficiencyLines(results: readonly ResultEntry[]): string[] {
  const table = efficiencyTable(efficiencyRows(results))
  if (table.length === 0) return []
  return ['', '**Efficiency** (benchmarks/baselines: E2E, floor and peer interleaved in this run)', '', ...table]
}

/**
 * Budget violations of the run (in every round, for a pooled interleaved run), and the budgets a
 * first measurement violated but its rerun met (harness/results/budgets/rerun.ts).
 */
function budgetLines(results: readonly ResultEntry[]): string[] {
  const violations: string[] = []
  const heldOnRerun: string[] = []
  let checks = 0
  for (const e of results) {
    const byExpression = new Map<string, { operator: string; failed: number[]; total: number; confirmed: number; held: { first: number; then: number }[] }>()
    for (const b of e.budgets) {
      if (b.target) continue
      checks++
      const seen = byExpression.get(b.expression) ?? { operator: b.operator, failed: [], total: 0, confirmed: 0, held: [] }
      seen.total++
      if (!b.passed) seen.failed.push(b.observed)
      if (b.rerun?.verdict === 'violated, confirmed on rerun') seen.confirmed++
      if (b.rerun?.verdict === 'violated once, held on rerun') seen.held.push({ first: b.rerun.firstObserved, then: b.observed })
      byExpression.set(b.expression, seen)
    }
    const name = escapeCell(`${e.file} > ${e.bench}`)
    for (const [expression, s] of byExpression) {
      const rounds = s.total > 1 ? ` in ${s.failed.length} of ${s.total} rounds` : ''
      for (const h of s.held) heldOnRerun.push(`- ${name}: \`${expression}\` violated once, held on rerun (observed ${formatMs(h.first)}, then ${formatMs(h.then)})`)
      if (s.failed.length === 0) continue
      // the observation furthest on the wrong side of the limit
      const worst = s.operator.startsWith('>') ? Math.min(...s.failed) : Math.max(...s.failed)
      const confirmed = s.confirmed === 0 ? '' : s.confirmed === s.failed.length ? ', confirmed on rerun' : ` (${s.confirmed} confirmed on rerun)`
      violations.push(`- ${name}: \`${expression}\` violated${rounds}${confirmed} (observed ${formatMs(worst)})`)
    }
  }
  if (checks === 0) return []
  if (violations.length > 0) {
    const held = heldOnRerun.length > 0 ? [`${heldOnRerun.length} more violated once and held when measured again:`, ...heldOnRerun] : []
    return [`**Budgets** ❌ ${violations.length} violated:`, ...violations, ...held]
  }
  if (heldOnRerun.length === 0) return [`**Budgets** ✅ all ${checks} held.`]
  return [`**Budgets** ✅ all ${checks} held; ${heldOnRerun.length} only when measured again:`, ...heldOnRerun]
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
