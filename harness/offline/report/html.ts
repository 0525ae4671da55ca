/**
 * The HTML report: one self-contained file that works offline (no script, stylesheet, font or
 * image from anywhere else). At the top the verdicts (or, for a lone run, the figures) with links
 * to each bench; then per bench its figures next to the baseline's, a histogram and a CDF (inline
 * SVG, baseline overlaid), its budgets and the verdict's reason; at the end the environment of both
 * runs, differences highlighted.
 */
import { methodSentence } from './method-text.ts'
import type { BenchComparison, Comparison, Verdict } from '../compare/compare-runs.ts'
import { entriesById } from '../compare/bench-id.ts'
import type { EnvironmentFingerprint } from '../../results/environment.ts'
import type { ResultEntry, ResultsDocument } from '../../results/schema.ts'
import { environmentRows } from './environment-lines.ts'
import { escapeHtml as h } from './escape-html.ts'
import { formatMs, formatPercent, shortCommit } from '../../results/format.ts'
import { BASELINE_COLOR, cdfSvg, CURRENT_COLOR, histogramSvg, scalingSvg, type ScalingPoint } from './svg-charts.ts'

export interface HtmlInput {
  current: ResultsDocument
  baseline?: ResultsDocument
  comparison?: Comparison
  /** when the report was made (default: now) */
  generatedAt?: Date
}

const VERDICT_CLASS: Record<Verdict, string> = { regressed: 'bad', improved: 'good', unchanged: 'same', 'not comparable': 'na' }

export function renderHtml(input: HtmlInput): string {
  const { current, baseline, comparison } = input
  const now = (input.generatedAt ?? new Date()).toISOString()
  const currentEntries = entriesById(current.results)
  const baselineEntries = baseline ? entriesById(baseline.results) : new Map<string, ResultEntry>()
  const rows = comparison?.benches ?? [...currentEntries.keys()].map((id) => ({ id }) as Pick<BenchComparison, 'id'>)
  const labels = comparison?.labels ?? { baseline: 'baseline', current: baseline ? 'current' : 'this run' }

  const cards = rows.map((row, i) => benchCard(i, row.id, currentEntries.get(row.id), baselineEntries.get(row.id), comparison?.benches.find((b) => b.id === row.id), labels))
  const title = comparison ? `tasker-bench: ${labels.current} vs ${labels.baseline}` : 'tasker-bench results'
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${h(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${h(title)}</h1>
<p class="sub">${subtitle(current.environment, baseline?.environment, labels)} · generated ${h(now)}</p>
${comparison ? countsLine(comparison) : `<p class="counts">${current.results.length} measurement${current.results.length === 1 ? '' : 's'}</p>`}
${comparison && !comparison.environment.comparable ? `<p class="warn">Not compared: the environments differ (${h(comparison.environment.differences.map((d) => d.field).join(', '))}); see the environment table at the end.</p>` : ''}
</header>
<main>
<section>
<h2>Overview</h2>
${overviewTable(rows.map((r) => r.id), currentEntries, baselineEntries, comparison, labels)}
<p class="legend">${comparison ? `<span class="swatch cur"></span>${h(labels.current)} <span class="swatch base"></span>${h(labels.baseline)} · ` : ''}latencies in milliseconds${current.results.some((e) => !e.p99Meaningful) ? ' · * p99 of fewer than 100 samples: not meaningful' : ''}</p>
</section>
${scalingSection(current.results)}
${cards.join('\n')}
<section>
<h2 id="environment">Environment</h2>
${environmentTable(current.environment, baseline?.environment, labels)}
</section>
</main>
<footer>${comparison ? methodText(comparison) : 'Compare with a baseline: BENCH_BASELINE=&lt;results file&gt; npx vitest bench, or scripts/bench-compare.ts.'}</footer>
</body>
</html>
`
}

/** The scaling bench's grid (entries whose extra has `scaling`): a table and the curve. */
function scalingSection(entries: readonly ResultEntry[]): string {
  const rows = entries.flatMap((e) => {
    const s = e.extra.scaling as { topology?: unknown; processes?: unknown; throughput?: unknown; offeredRate?: unknown; cores?: unknown } | undefined
    if (!s || typeof s.topology !== 'string' || typeof s.throughput !== 'number') return []
    return [{ label: s.topology, processes: typeof s.processes === 'number' ? s.processes : undefined, throughput: s.throughput, rate: s.offeredRate, cores: s.cores, e }]
  })
  if (rows.length === 0) return ''
  const body = rows
    .map((r, i) => {
      const prev = rows[i - 1]
      const gain = prev && prev.processes !== undefined && r.processes !== undefined && r.processes !== prev.processes ? (r.throughput - prev.throughput) / (r.processes - prev.processes) : undefined
      return `<tr><td>${h(r.label)}</td><td class="num">${r.processes ?? '?'}</td><td class="num">${r.throughput.toFixed(1)}</td><td class="num">${gain === undefined ? '—' : `${gain >= 0 ? '+' : ''}${gain.toFixed(1)}`}</td><td class="num">${formatMs(r.e.p50)}</td><td class="num">${formatMs(r.e.p95)}</td></tr>`
    })
    .join('')
  const points: ScalingPoint[] = rows.flatMap((r) => (r.processes === undefined ? [] : [{ label: r.label, processes: r.processes, throughput: r.throughput }]))
  const cores = typeof rows[0]!.cores === 'number' ? rows[0]!.cores : undefined
  const most = Math.max(0, ...points.map((p) => p.processes))
  const warning = cores !== undefined && most > cores ? `<p class="warn">This machine had ${cores} core(s) and the grid ran up to ${most} processes: past the cores the curve shows contention for the CPU, not scaling.</p>` : ''
  const chart = points.length > 0 ? `<figure>${scalingSvg(points, 'Throughput ceiling per topology')}<figcaption>Throughput ceiling (tasks/s) against processes; the dashed line is perfectly linear scaling from the first topology — where the curve falls away from it, adding instances stops paying.</figcaption></figure>` : ''
  return `<section>
<h2 id="scaling">Scaling</h2>
${warning}<table class="overview"><thead><tr><th>topology</th><th>processes</th><th>tasks/s</th><th>gain per added process</th><th>p50 @${h(String(rows[0]!.rate))}/s</th><th>p95</th></tr></thead><tbody>${body}</tbody></table>
${chart}
</section>`
}

function subtitle(cur: EnvironmentFingerprint, base: EnvironmentFingerprint | undefined, labels: { baseline: string; current: string }): string {
  const run = (label: string, e: EnvironmentFingerprint) => `${h(label)} <code>${h(shortCommit(e.commit))}</code> (${h(e.timestamp.replace('T', ' ').replace(/\.\d+Z$/, ' UTC'))})`
  return base ? `${run(labels.current, cur)} vs ${run(labels.baseline, base)}` : run('run', cur)
}

function countsLine(c: Comparison): string {
  const order: Verdict[] = ['regressed', 'improved', 'unchanged', 'not comparable']
  return `<p class="counts">${order
    .filter((v) => c.counts[v] > 0 || v === 'regressed')
    .map((v) => `<span class="badge ${c.counts[v] > 0 ? VERDICT_CLASS[v] : 'same'}">${c.counts[v]} ${v}</span>`)
    .join(' ')}</p>`
}

function overviewTable(
  ids: string[],
  current: Map<string, ResultEntry>,
  baseline: Map<string, ResultEntry>,
  comparison: Comparison | undefined,
  labels: { baseline: string; current: string },
): string {
  if (!comparison) {
    const body = ids
      .map((id, i) => {
        const e = current.get(id)!
        return `<tr><td><a href="#bench-${i}">${h(id)}</a></td><td class="num">${e.n}</td><td class="num">${formatMs(e.p50)}</td><td class="num">${formatMs(e.p95)}</td><td class="num">${formatMs(e.p99)}${e.p99Meaningful ? '' : '*'}</td><td class="num">${formatMs(e.max)}</td><td>${budgetsCell(e)}</td></tr>`
      })
      .join('')
    return `<table class="overview"><thead><tr><th>bench</th><th>n</th><th>p50</th><th>p95</th><th>p99</th><th>max</th><th>budgets</th></tr></thead><tbody>${body}</tbody></table>`
  }
  const body = ids
    .map((id, i) => {
      const row = comparison.benches.find((b) => b.id === id)!
      const pair = (s: { p50: number; p95: number } | undefined) => (s ? `${formatMs(s.p50)} · ${formatMs(s.p95)}` : '—')
      const change = (metric: 'p50' | 'p95') => {
        const m = row.metrics.find((x) => x.metric === metric)
        if (!m || m.verdict === 'not compared') return '—'
        const cls = m.verdict === 'regressed' ? 'bad' : m.verdict === 'improved' ? 'good' : ''
        return `<span class="${cls}">${formatPercent(m.relative)}</span>`
      }
      return `<tr><td><a href="#bench-${i}">${h(id)}</a></td><td class="num">${pair(row.baseline ?? baseline.get(id))}</td><td class="num">${pair(row.current ?? current.get(id))}</td><td class="num">${change('p50')} · ${change('p95')}</td><td><span class="badge ${VERDICT_CLASS[row.verdict]}">${row.verdict}</span></td></tr>`
    })
    .join('')
  return `<table class="overview"><thead><tr><th>bench</th><th>${h(labels.baseline)} p50 · p95</th><th>${h(labels.current)} p50 · p95</th><th>change p50 · p95</th><th>verdict</th></tr></thead><tbody>${body}</tbody></table>`
}

function benchCard(
  index: number,
  id: string,
  current: ResultEntry | undefined,
  baseline: ResultEntry | undefined,
  row: BenchComparison | undefined,
  labels: { baseline: string; current: string },
): string {
  const parts = [`<section class="bench" id="bench-${index}">`]
  parts.push(`<h2>${h(id)}${row ? ` <span class="badge ${VERDICT_CLASS[row.verdict]}">${row.verdict}</span>` : ''}</h2>`)
  if (row?.reason) parts.push(`<p class="reason">${h(row.reason)}</p>`)
  parts.push(statsTable(current, baseline, labels))
  const shown = current ?? baseline
  if (shown?.samples && shown.samples.length > 0) {
    const main = current?.samples ? { sorted: current.samples, label: labels.current } : { sorted: baseline!.samples!, label: labels.baseline }
    const other = current?.samples && baseline?.samples ? { sorted: baseline.samples, label: labels.baseline } : undefined
    const histogram = histogramSvg({ current: main, ...(other ? { baseline: other } : {}), title: `Latency histogram of ${id}` })
    const clippedNote = histogram.clipped.some((c) => c > 0) ? ` Beyond ${formatMs(histogram.range[1])} ms (the larger p99), not drawn: ${histogram.clipped.map((c, i) => `${c} ${i === 0 ? main.label : labels.baseline}`).join(', ')} sample points.` : ''
    const bins = histogram.log ? `${histogram.bins} bins of equal width on the log axis` : `${histogram.bins} bins of ${formatMs((histogram.range[1] - histogram.range[0]) / histogram.bins)} ms`
    parts.push(
      `<div class="charts"><figure>${histogram.svg}<figcaption>Histogram: share of samples per bin (${bins}); dotted lines at the ${h(main.label)} p50 and p95.${clippedNote}</figcaption></figure>` +
        `<figure>${cdfSvg({ current: main, ...(other ? { baseline: other } : {}), title: `Latency CDF of ${id}` })}<figcaption>CDF: share of samples at or below a latency, all samples up to the maximum.</figcaption></figure></div>`,
    )
  } else {
    parts.push(`<p class="note">No retained samples in this results file, so no charts (files from before samples were kept).</p>`)
  }
  if (current && current.budgets.length > 0) parts.push(budgetList(current))
  parts.push('</section>')
  return parts.join('\n')
}

function statsTable(current: ResultEntry | undefined, baseline: ResultEntry | undefined, labels: { baseline: string; current: string }): string {
  const fields = [
    ['n', (e: ResultEntry) => String(e.n)],
    ['mean', (e: ResultEntry) => formatMs(e.mean)],
    ['p50', (e: ResultEntry) => formatMs(e.p50)],
    ['p95', (e: ResultEntry) => formatMs(e.p95)],
    ['p99', (e: ResultEntry) => `${formatMs(e.p99)}${e.p99Meaningful ? '' : '*'}`],
    ['max', (e: ResultEntry) => formatMs(e.max)],
  ] as const
  const head = `<tr><th></th>${fields.map(([name]) => `<th>${name}</th>`).join('')}</tr>`
  const line = (label: string, cls: string, e: ResultEntry | undefined) =>
    e ? `<tr><th class="${cls}"><span class="swatch ${cls}"></span>${h(label)}</th>${fields.map(([, read]) => `<td class="num">${read(e)}</td>`).join('')}</tr>` : ''
  return `<table class="stats">${head}${line(labels.current, 'cur', current)}${line(labels.baseline, 'base', baseline)}</table>`
}

/** One line per budget expression; a pooled interleaved run has one check per round of each. */
function budgetList(e: ResultEntry): string {
  const byExpression = new Map<string, ResultEntry['budgets']>()
  for (const b of e.budgets) byExpression.set(b.expression, [...(byExpression.get(b.expression) ?? []), b])
  const items = [...byExpression].map(([expression, checks]) => {
    const failed = checks.filter((c) => !c.passed)
    const shown = failed.length > 0 ? failed : checks
    // the observation nearest to (or furthest past) the limit
    const worst = checks[0]!.operator.startsWith('>') ? Math.min(...shown.map((c) => c.observed)) : Math.max(...shown.map((c) => c.observed))
    const rounds = checks.length > 1 ? ` in ${failed.length > 0 ? failed.length : checks.length} of ${checks.length} rounds` : ''
    const which = checks.length === 1 ? 'observed' : checks[0]!.operator.startsWith('>') ? 'lowest' : 'highest'
    if (checks[0]!.target) {
      // A target: reported, never a failure of the run.
      const verb = `${failed.length > 0 ? 'missed' : 'met'}${rounds}, ${which}`
      return `<li class="target">${failed.length > 0 ? '○' : '●'} <code>${h(expression)}</code> ${verb} ${formatMs(worst)}</li>`
    }
    const verb = `${failed.length > 0 ? 'violated' : 'held'}${rounds}, ${which}`
    return `<li class="${failed.length > 0 ? 'bad' : 'good'}">${failed.length > 0 ? '✘' : '✔'} <code>${h(expression)}</code> ${verb} ${formatMs(worst)}</li>`
  })
  return `<ul class="budgets">${items.join('')}</ul>`
}

function budgetsCell(e: ResultEntry): string {
  const budgets = e.budgets.filter((b) => !b.target)
  const targets = e.budgets.filter((b) => b.target)
  const parts: string[] = []
  const failed = budgets.filter((b) => !b.passed).length
  if (budgets.length > 0) parts.push(failed > 0 ? `<span class="bad">${failed} of ${budgets.length} violated</span>` : `<span class="good">${budgets.length} held</span>`)
  if (targets.length > 0) parts.push(`<span class="target">${targets.filter((b) => b.passed).length} of ${targets.length} targets met</span>`)
  return parts.length > 0 ? parts.join(' · ') : '—'
}

function environmentTable(cur: EnvironmentFingerprint, base: EnvironmentFingerprint | undefined, labels: { baseline: string; current: string }): string {
  const currentRows = environmentRows(cur)
  const baseRows = base ? new Map(environmentRows(base)) : undefined
  const expectedToDiffer = new Set(['commit', 'started'])
  const body = currentRows
    .map(([field, value]) => {
      const other = baseRows?.get(field)
      const differs = other !== undefined && other !== value && !expectedToDiffer.has(field)
      return `<tr${differs ? ' class="differs"' : ''}><th>${h(field)}</th><td>${h(value)}</td>${baseRows ? `<td>${h(other ?? '')}</td>` : ''}</tr>`
    })
    .join('')
  return `<table class="env"><thead><tr><th></th><th>${h(labels.current)}</th>${baseRows ? `<th>${h(labels.baseline)}</th>` : ''}</tr></thead><tbody>${body}</tbody></table>`
}

function methodText(c: Comparison): string {
  return h(methodSentence(c))
}

const STYLE = `
:root { color-scheme: light; --fg: #111827; --muted: #4b5563; --line: #e5e7eb; --cur: ${CURRENT_COLOR}; --base: ${BASELINE_COLOR}; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); background: #f9fafb; }
header, main, footer { max-width: 1200px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 0 0 8px; }
.sub { color: var(--muted); margin: 0 0 10px; }
code { font: 13px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin: 16px 0; }
table { border-collapse: collapse; }
th, td { padding: 4px 10px; text-align: left; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { font-weight: 600; color: var(--muted); font-size: 13px; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.overview { width: 100%; }
.overview a { color: inherit; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 13px; font-weight: 600; white-space: nowrap; vertical-align: 2px; }
.badge.bad { background: #fee2e2; color: #991b1b; } .badge.good { background: #dcfce7; color: #166534; }
.badge.same { background: #f3f4f6; color: #374151; } .badge.na { background: #fef3c7; color: #92400e; }
span.bad, li.bad { color: #b91c1c; } span.good, li.good { color: #15803d; } span.target, li.target { color: #6b7280; }
.counts .badge { font-size: 15px; padding: 3px 12px; margin-right: 4px; }
.warn { background: #fef3c7; border: 1px solid #f59e0b; border-radius: 6px; padding: 8px 12px; }
.reason { color: var(--muted); margin: 0 0 8px; }
.stats th { font-weight: 600; }
.swatch { display: inline-block; width: 14px; height: 4px; margin: 0 6px 3px 0; vertical-align: middle; }
.swatch.cur { background: var(--cur); }
.swatch.base { background: repeating-linear-gradient(90deg, var(--base) 0 5px, transparent 5px 8px); }
.legend { color: var(--muted); font-size: 13px; margin: 8px 0 0; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; margin-top: 12px; }
figure { margin: 0; flex: 1 1 520px; max-width: 560px; }
figure svg { width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 12.5px; margin-top: 2px; }
svg text { font-family: inherit; fill: #374151; }
svg .tick { font-size: 11px; } svg .axis { font-size: 12px; fill: #4b5563; } svg .mark { font-size: 11px; fill: #111827; }
.budgets { margin: 10px 0 0; padding-left: 20px; font-size: 14px; }
.note { color: var(--muted); font-style: italic; }
.env tr.differs td, .env tr.differs th { background: #fef3c7; }
footer { color: var(--muted); font-size: 13px; padding-bottom: 32px; }
`
