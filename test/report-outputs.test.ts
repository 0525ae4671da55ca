/**
 * Every output of a run, validated against its format: the markdown summary, Bencher's BMF,
 * github-action-benchmark's customSmallerIsBetter array, the self-contained HTML report (an SVG
 * chart per bench, nothing loaded from elsewhere), and what the reporter does at the end of a run
 * with BENCH_BASELINE (finishRun).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { compareRuns } from '../harness/offline/compare/compare-runs.ts'
import { seededRandom } from '../harness/offline/compare/seeded-random.ts'
import { lognormalSamples, simulatedDocument } from '../harness/offline/compare/simulate.ts'
import type { ResultsDocument } from '../harness/results/schema.ts'
import { toBenchmarkAction, validateBenchmarkAction } from '../harness/offline/report/benchmark-action.ts'
import { toBmf, validateBmf } from '../harness/offline/report/bmf.ts'
import { finishRun } from '../harness/offline/report/finish-run.ts'
import { formatMs, formatPercent } from '../harness/results/format.ts'
import { renderHtml } from '../harness/offline/report/html.ts'
import { COMMENT_MARKER, MAX_MARKDOWN_CHARS, renderMarkdown } from '../harness/offline/report/markdown.ts'
import { linearTicks, logTicks } from '../harness/offline/report/svg-charts.ts'
import { writeReports } from '../harness/offline/report/write-reports.ts'

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tasker-bench-report-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function runs(): { base: ResultsDocument; head: ResultsDocument } {
  const random = seededRandom(21)
  const benches = (slow: number) => [
    { file: 'event-propagation', bench: 'notify small payload', samples: lognormalSamples(random, 1000, 0.45 * slow, 0.3) },
    { file: 'event-propagation', bench: 'notify | pipe <b>', samples: lognormalSamples(random, 300, 0.7, 0.3) },
    { file: 'e2e-latency', bench: 'e2e linear', samples: lognormalSamples(random, 12, 130, 0.4) },
  ]
  const base = simulatedDocument(benches(1), { commit: 'a'.repeat(40) })
  const head = simulatedDocument(benches(1.4), { commit: 'b'.repeat(40) })
  head.results[0]!.budgets = [
    { expression: 'p(95)<10', operator: '<', limit: 10, observed: 0.9, passed: true },
    { expression: 'p(99)<0.5', operator: '<', limit: 0.5, observed: 1.1, passed: false },
    { expression: 'target p(50)<0.1', operator: '<', limit: 0.1, observed: 0.6, passed: false, target: true },
  ]
  return { base, head }
}

describe('markdown summary', () => {
  test('a comparison leads with the gating benches (metric, verdict, detectable change), then the informational ones, reasons, environment, budgets', () => {
    const { base, head } = runs()
    const comparison = compareRuns(base, head, { labels: { baseline: 'base', current: 'head' } })
    const md = renderMarkdown({ current: head, comparison, policy: 'blocking', footer: 'Charts: report.html' })
    const lines = md.split('\n')
    expect(lines[0]).toBe(COMMENT_MARKER)
    expect(lines[1]).toBe('### tasker-bench: ❌ **1 gating regression** · all benches: 1 regressed · 0 improved · 1 unchanged · 1 not comparable')
    expect(md).toContain('**Gating regressions fail this check**')
    const gating = lines.indexOf('#### Gating benches')
    expect(gating).toBeGreaterThan(1)
    const header = lines.findIndex((l) => l.startsWith('| bench |'))
    expect(header).toBe(gating + 2)
    expect(lines[header]).toBe('| bench | metric | base | head | change | verdict | detectable (90 %) |')
    expect(lines[header + 1]).toBe('|---|---|--:|--:|--:|---|--:|')
    expect(lines[header + 2]).toMatch(/^\| event-propagation > notify small payload \| p95 \| [\d.]+ ms \| [\d.]+ ms \| \+\d+\.\d % \| 🔴 \*\*regressed\*\* \| \+\d+ % \|$/)
    expect(lines[header + 3]).toMatch(/^\| e2e-latency > e2e linear \| p50 \| — \| — \| — \| ❔ not comparable: only 12 samples in the baseline, 20 needed \| — \|$/)
    expect(md).toContain('"unchanged" means no change that large, not "proven equal"')
    expect(md).toMatch(/> margins: built-in WIDE defaults \(p50 25 %, p95 40 %, p99 60 %\)/)
    // the informational bench, collapsed; a pipe in its name cannot break the table
    expect(md).toContain('<details><summary>Informational benches (do not gate): 1 unchanged</summary>')
    const info = lines.find((l) => l.startsWith('| event-propagation > notify \\| pipe <b> |'))!
    expect(info).toMatch(/ ⚪ unchanged \|$/)
    expect(info.split(/(?<!\\)\|/).length).toBe(7)
    expect(md).toContain('<details><summary>Why each verdict</summary>')
    expect(md).toMatch(/- \*\*event-propagation > notify small payload\*\* \(gates on p95\) — regressed: p95 \+\d+\.\d % .* run vs run: z = [\d.]+ > [\d.]+, beyond the 40 % \/ 0\.100 ms margin/)
    expect(md).toContain('**Environment** Node v24.21.0 · linux x64 · Simulated CPU @ 3.0GHz × 4 · PostgreSQL 18.1 (embedded) · pgmq sql-compat 1.7.0')
    expect(md).toContain('base `aaaaaaa`')
    expect(md).toMatch(/\*\*Budgets\*\* ❌ 1 violated:\n- event-propagation > notify small payload: `p\(99\)<0\.5` violated \(observed 1\.10\)\n/)
    expect(md).not.toMatch(/target p\(50\)<0\.1` violated/) // a missed target is not a violation
    expect(md.trimEnd().endsWith('Charts: report.html')).toBe(true)
  })

  test('informational policy and a single run', () => {
    const { base, head } = runs()
    expect(renderMarkdown({ current: head, comparison: compareRuns(base, head), policy: 'informational' })).toContain('Gating regressions are reported only (`BENCH_REGRESSION=informational`)')
    expect(renderMarkdown({ current: head })).toMatch(/\| event-propagation > notify small payload \| .* \| ❌ 1 of 2 violated · 🎯 0 of 1 targets met \|/)
    const single = renderMarkdown({ current: base })
    expect(single).toContain('### tasker-bench: 3 measurements')
    expect(single).toContain('| bench | n | p50 | p95 | p99 | max | budgets |')
    expect(single).toMatch(/\| e2e-latency > e2e linear \| 12 \| [\d.]+ \| [\d.]+ \| [\d.]+\* \|/) // p99 of 12 samples is flagged
    expect(single).not.toContain('**Budgets**') // no budgets were checked
  })

  test('a single run: budget verdicts first, headline figures, then each workflow’s phases collapsed', () => {
    const random = seededRandom(5)
    const doc = simulatedDocument([
      { file: 'e2e-latency', bench: 'e2e linear', samples: lognormalSamples(random, 20, 40, 0.3) },
      { file: 'e2e-latency', bench: 'linear: worker.claim', samples: lognormalSamples(random, 60, 2, 0.3) },
      { file: 'e2e-latency', bench: 'linear: task.create', samples: lognormalSamples(random, 20, 6, 0.3) },
      { file: 'e2e-latency', bench: 'e2e diamond', samples: lognormalSamples(random, 20, 45, 0.3) },
      { file: 'e2e-latency', bench: 'diamond: worker.claim', samples: lognormalSamples(random, 80, 2, 0.3) },
      { file: 'event-propagation', bench: 'notify: small', samples: lognormalSamples(random, 20, 0.6, 0.3) },
    ])
    for (const e of doc.results) if (/^(linear|diamond): /.test(e.bench)) e.extra = { source: 'traces', phase: e.bench.split(': ')[1]! }
    doc.results[0]!.budgets = [{ expression: 'p(95)<500', operator: '<', limit: 500, observed: 50, passed: true }]
    const lines = renderMarkdown({ current: doc }).split('\n')
    expect(lines.slice(1, 5)).toEqual(['### tasker-bench: 6 measurements', '', '**Budgets** ✅ all 1 held.', ''])
    const table = lines.slice(5, lines.indexOf('', 5))
    expect(table.slice(2).map((l) => l.split(' | ')[0])).toEqual(['| e2e-latency > e2e linear', '| e2e-latency > e2e diamond', '| event-propagation > notify: small'])
    const linear = lines.indexOf('<details><summary>e2e-latency &gt; linear: phase breakdown (2 phases, from traces)</summary>')
    const diamond = lines.indexOf('<details><summary>e2e-latency &gt; diamond: phase breakdown (1 phase, from traces)</summary>')
    expect(linear).toBeGreaterThan(5 + table.length)
    expect(diamond).toBeGreaterThan(linear)
    expect(lines.slice(linear + 2, linear + 6).map((l) => l.split(' | ')[0])).toEqual(['| phase', '|---|--:|--:|--:|--:|--:|---|', '| worker.claim', '| task.create'])
    expect(lines[linear + 7]).toBe('</details>')
  })

  test('environment differences are called out; a huge summary is cut below GitHub’s limit', () => {
    const { base, head } = runs()
    const other = { ...head, environment: { ...head.environment, cpuCount: 64 } }
    expect(renderMarkdown({ current: other, comparison: compareRuns(base, other) })).toContain('> Not compared: the environments differ (cpuCount 4 → 64).')
    const many = simulatedDocument(Array.from({ length: 800 }, (_, i) => ({ file: 'f', bench: `bench number ${i} ${'x'.repeat(60)}`, samples: [1, 2, 3] })))
    const md = renderMarkdown({ current: many })
    expect(md.length).toBeLessThanOrEqual(MAX_MARKDOWN_CHARS)
    expect(md).toContain('(truncated: the full report is in the results directory)')
  })
})

describe('Bencher Metric Format', () => {
  test('validates, in nanoseconds, with the 95 % interval of each quantile as bounds', () => {
    const { head } = runs()
    const bmf = toBmf(head)
    expect(validateBmf(JSON.parse(JSON.stringify(bmf)))).toEqual([])
    expect(Object.keys(bmf)).toEqual([
      'event-propagation > notify small payload (p50)',
      'event-propagation > notify small payload (p95)',
      'event-propagation > notify | pipe <b> (p50)',
      'event-propagation > notify | pipe <b> (p95)',
      'e2e-latency > e2e linear (p50)',
      'e2e-latency > e2e linear (p95)',
    ])
    const median = bmf['event-propagation > notify small payload (p50)']!.latency!
    expect(median.value).toBeCloseTo(head.results[0]!.p50 * 1e6, 0)
    expect(median.lower_value!).toBeLessThan(median.value)
    expect(median.upper_value!).toBeGreaterThan(median.value)
    // without retained samples there are no bounds, and that is still valid BMF
    const bare = structuredClone(head)
    for (const e of bare.results) delete e.samples
    const plain = toBmf(bare)
    expect(plain['e2e-latency > e2e linear (p95)']).toEqual({ latency: { value: Math.round(bare.results[2]!.p95 * 1e9) / 1000 } })
    expect(validateBmf(plain)).toEqual([])
  })

  test('the validator catches what Bencher would reject', () => {
    expect(validateBmf([])).toEqual(['the document must be a JSON object of benchmark names'])
    expect(validateBmf({ b: { latency: { value: '1' } } })).toEqual(['"b" > latency.value must be a number'])
    expect(validateBmf({ b: { latency: {} } })).toEqual(['"b" > latency.value must be a number'])
    expect(validateBmf({ b: {} })).toEqual(['"b": must be an object of one or more measures'])
    expect(validateBmf({ '': { latency: { value: 1 } } })).toEqual(['"": a benchmark name must be 1..1024 characters'])
    expect(validateBmf({ b: { ['m'.repeat(65)]: { value: 1 } } })[0]).toMatch(/a measure name or slug must be 1\.\.64 characters/)
    expect(validateBmf({ b: { latency: { value: 1, lower_value: 2, upper_value: 0.5, p95: 3 } } })).toEqual([
      '"b" > latency: unknown field p95',
      '"b" > latency: lower_value is above value',
      '"b" > latency: upper_value is below value',
    ])
  })
})

describe('github-action-benchmark (customSmallerIsBetter)', () => {
  test('validates: an array of { name, unit, value, range?, extra? } with unique names', () => {
    const { head } = runs()
    const entries = toBenchmarkAction(head)
    expect(validateBenchmarkAction(JSON.parse(JSON.stringify(entries)))).toEqual([])
    expect(entries).toHaveLength(6)
    expect(entries[0]).toEqual({
      name: 'event-propagation > notify small payload (p50)',
      unit: 'ms',
      value: Math.round(head.results[0]!.p50 * 1e6) / 1e6,
      range: expect.stringMatching(/^± [\d.]+$/),
      extra: expect.stringMatching(/^n=1000\nmean=[\d.]+ ms\np99=[\d.]+ ms\nmax=[\d.]+ ms$/),
    })
    expect(entries[5]!.extra).toMatch(/p99=[\d.]+ ms \(n < 100\)/)
  })

  test('the validator catches what the action would mishandle', () => {
    expect(validateBenchmarkAction({})).toEqual(['the document must be a JSON array of { name, unit, value, range?, extra? }'])
    expect(
      validateBenchmarkAction([
        { name: 'a', unit: 'ms', value: 1 },
        { name: 'a', unit: 'ms', value: 2 },
        { name: '', unit: '', value: Number.NaN, range: 3, extra: {}, other: 1 },
      ]),
    ).toEqual([
      '[1].name "a" repeats an earlier entry (the action would merge them)',
      '[2]: unknown field other',
      '[2].name must be a non-empty string',
      '[2].unit must be a non-empty string',
      '[2].value must be a number',
      '[2].range must be a string',
      '[2].extra must be a string',
    ])
  })
})

describe('HTML report', () => {
  test('an SVG histogram and CDF per bench, baseline overlaid, environment table, nothing external', () => {
    const { base, head } = runs()
    const comparison = compareRuns(base, head, { labels: { baseline: 'base', current: 'head' } })
    const html = renderHtml({ current: head, baseline: base, comparison, generatedAt: new Date('2025-01-01T00:00:00Z') })
    expect(html.startsWith('<!doctype html>')).toBe(true)
    const sections = html.split('<section class="bench"').slice(1)
    expect(sections).toHaveLength(3)
    for (const section of sections) {
      const svgs = section.match(/<svg [^>]*role="img"[^>]*>/g) ?? []
      expect(svgs).toHaveLength(2) // histogram + CDF
      expect(section).toMatch(/<title>Latency histogram of .+<\/title>/)
      expect(section).toMatch(/<title>Latency CDF of .+<\/title>/)
      expect(section).toContain('stroke-dasharray="5 3"') // the baseline, dashed
      expect(section.match(/<polyline /g)).toHaveLength(2) // CDF: head and base
    }
    expect((html.match(/<svg /g) ?? []).length).toBe(6)
    expect(html).toContain('<span class="badge bad">1 regressed</span>')
    expect(html).toMatch(/<table class="env">.*<th>Node<\/th><td>v24\.21\.0<\/td><td>v24\.21\.0<\/td>/s)
    expect(html).toContain('<li class="target">○ <code>target p(50)&lt;0.1</code> missed, observed 0.600</li>')
    expect(renderHtml({ current: head })).toContain('<span class="bad">1 of 2 violated</span> · <span class="target">0 of 1 targets met</span>')

    // works offline: no scripts, stylesheets, fonts, images or frames from anywhere, no URL at all
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(/i)
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?(https?:|\/\/)/i)
    expect(html).not.toMatch(/https?:\/\//)
    // bench names are text, never markup
    expect(html).toContain('notify | pipe &lt;b&gt;')
    expect(html).not.toContain('pipe <b>')
  })

  test('a run without baseline or samples still renders, saying why there is no chart', () => {
    const { head } = runs()
    const bare = structuredClone(head)
    delete bare.results[1]!.samples
    const html = renderHtml({ current: bare })
    expect(html).toContain('<title>tasker-bench results</title>')
    expect((html.match(/<svg /g) ?? []).length).toBe(4)
    expect(html).toContain('No retained samples in this results file, so no charts')
    expect(html).not.toContain('class="swatch base"')
  })

  test('axis ticks are round numbers within the range', () => {
    expect(linearTicks(0.23, 0.97, 6)).toEqual([0.4, 0.6, 0.8])
    expect(linearTicks(12, 118, 6)).toEqual([20, 40, 60, 80, 100])
    expect(linearTicks(0, 0.2, 4)).toEqual([0, 0.05, 0.1, 0.15, 0.2])
    expect(logTicks(0.01, 100)).toEqual([0.01, 0.1, 1, 10, 100])
    expect(logTicks(0.25, 1.5)).toEqual([0.3, 0.5, 1])
    expect(logTicks(10, 400)).toEqual([10, 20, 50, 100, 200])
  })

  test('number formatting', () => {
    expect([formatMs(123.4), formatMs(12.34), formatMs(1.234), formatMs(0.1234), formatMs(0.00012), formatMs(-2.5)]).toEqual(['123', '12.3', '1.23', '0.123', '0.00012', '−2.50'])
    expect([formatPercent(0.1234), formatPercent(-0.05), formatPercent(0.0001), formatPercent(2.5)]).toEqual(['+12.3 %', '−5.0 %', '±0 %', '+250 %'])
  })
})

describe('writing the reports, and the end of a run (reporter)', () => {
  test('writeReports writes the five files into the results directory', () => {
    const { base, head } = runs()
    const dir = path.join(tmp, 'reports')
    const paths = writeReports(dir, { current: head, baseline: base, comparison: compareRuns(base, head) })
    expect(readdirSync(dir).sort()).toEqual(['benchmark-action.json', 'bmf.json', 'comparison.json', 'report.html', 'summary.md'])
    expect(validateBmf(JSON.parse(readFileSync(paths.bmf, 'utf8')))).toEqual([])
    expect(validateBenchmarkAction(JSON.parse(readFileSync(paths.benchmarkAction, 'utf8')))).toEqual([])
    expect(JSON.parse(readFileSync(paths.comparison!, 'utf8'))).toMatchObject({ kind: 'tasker-bench-comparison', version: 2, counts: { regressed: 1 }, gating: { regressed: 1 } })
  })

  function finish(env: NodeJS.ProcessEnv, current: ResultsDocument) {
    const lines: string[] = []
    const dir = mkdtempSync(path.join(tmp, 'run-'))
    const outcome = finishRun(current, dir, { root: tmp, env, log: (l) => lines.push(l) })
    return { outcome, lines, dir }
  }

  test('BENCH_BASELINE: compares, prints the regression, fails the run unless informational', () => {
    const { base, head } = runs()
    const baseline = path.join(tmp, 'baseline.json')
    writeFileSync(baseline, JSON.stringify(base))
    const blocking = finish({ BENCH_BASELINE: baseline }, head)
    expect(blocking.outcome.exitCode).toBe(1)
    expect(blocking.lines[0]).toMatch(/^reports: .*report\.html, .*summary\.md, .*bmf\.json, .*benchmark-action\.json, .*comparison\.json$/)
    expect(blocking.lines[1]).toMatch(/^comparison with .*baseline\.json: 1 regressed, 0 improved, 1 unchanged, 1 not comparable; gating: 1 of 2 regressed$/)
    expect(blocking.lines[2]).toMatch(/^ {2}margins: built-in WIDE defaults .* because there is no calibration data/)
    expect(blocking.lines).toContainEqual(expect.stringMatching(/^ {2}regressed +event-propagation > notify small payload \[gates: fails\]: p95 \+.* run vs run: z = .*; p50 \+/))
    expect(blocking.lines.at(-1)).toBe('regression: failing the run (BENCH_REGRESSION=informational reports regressions without failing)')
    expect(readdirSync(blocking.dir)).toContain('comparison.json')

    const informational = finish({ BENCH_BASELINE: baseline, BENCH_REGRESSION: 'informational' }, head)
    expect(informational.outcome.exitCode).toBe(0)
    expect(informational.lines.at(-1)).toBe('regression reported only (BENCH_REGRESSION=informational)')
  })

  test('no baseline: reports only; an unreadable baseline fails the run with the path', () => {
    const { head } = runs()
    const plain = finish({}, head)
    expect(plain.outcome).toEqual({ exitCode: 0 })
    expect(plain.lines).toHaveLength(1)
    expect(readdirSync(plain.dir).sort()).toEqual(['benchmark-action.json', 'bmf.json', 'report.html', 'summary.md'])

    const missing = finish({ BENCH_BASELINE: 'nowhere/main.json' }, head)
    expect(missing.outcome.exitCode).toBe(1)
    expect(missing.lines[0]).toMatch(/^comparison failed: .*nowhere\/main\.json: no such results file/)
    expect(readdirSync(missing.dir)).toContain('report.html') // the run's own reports are still written
  })
})
