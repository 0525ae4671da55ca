/**
 * The scaling bench's words and pictures (issue 24 §2): the grid table with the gain per added
 * process, the warning when the grid outnumbers the cores, BENCH_TOPOLOGY and BENCH_SCALING_GRID
 * as given, and the HTML report's scaling section with its curve.
 */
import { describe, expect, test } from 'vitest'
import { coreWarning, describeTopology, gainPerProcess, gridTable, type GridRow } from '../harness/bench/scaling/grid-table.ts'
import { loadSettings } from '../harness/config/settings.ts'
import { seededRandom } from '../harness/offline/compare/seeded-random.ts'
import { lognormalSamples, simulatedDocument } from '../harness/offline/compare/simulate.ts'
import { renderHtml } from '../harness/offline/report/html.ts'

const rows: GridRow[] = [
  { label: '1x1', orchestrators: 1, workers: 1, throughput: 40, latency: { p50: 20, p95: 30 } as GridRow['latency'], achievedAtRate: 20 },
  { label: '1x2', orchestrators: 1, workers: 2, throughput: 70, latency: undefined, achievedAtRate: 20 },
  { label: '2x2', orchestrators: 2, workers: 2, throughput: 75, latency: undefined, achievedAtRate: 19.5 },
]

describe('scaling grid', () => {
  test('the gain per added process is against the previous topology', () => {
    expect(gainPerProcess(rows, 0)).toBeUndefined()
    expect(gainPerProcess(rows, 1)).toBe(30)
    expect(gainPerProcess(rows, 2)).toBe(5)
    const table = gridTable(rows, 20).split('\n')
    expect(table[0]).toContain('gain/process')
    expect(table[2]).toMatch(/^1x2\s+3\s+70\.0\s+\+30\.0\s+—\s+—\s+20\.0$/)
  })

  test('more processes than cores is said plainly; within the cores nothing is said', () => {
    expect(coreWarning([[1, 1], [2, 4]], 2)).toMatch(/^this machine has 2 core\(s\) and the grid runs up to 6 .*contention for the CPU, not scaling/)
    expect(coreWarning([[1, 1]], 2)).toBeUndefined()
  })

  test('BENCH_TOPOLOGY: OxW is read, anything else reported as given, nothing asks for it', () => {
    expect(describeTopology('2x4')).toEqual({ label: '2x4', orchestrators: 2, workers: 4 })
    expect(describeTopology('orchestration=3 worker=8 (k8s)')).toEqual({ label: 'orchestration=3 worker=8 (k8s)' })
    expect(describeTopology(undefined).label).toMatch(/set BENCH_TOPOLOGY/)
  })

  test('BENCH_SCALING_GRID: parsed, defaulted, and a bad cell named in one line', () => {
    expect(loadSettings({ env: {} }).BENCH_SCALING_GRID).toEqual([[1, 1], [1, 2], [2, 2], [2, 4]])
    expect(loadSettings({ env: { BENCH_SCALING_GRID: '1x1, 3×8' } }).BENCH_SCALING_GRID).toEqual([[1, 1], [3, 8]])
    expect(() => loadSettings({ env: { BENCH_SCALING_GRID: '1x1,2' } })).toThrow(/BENCH_SCALING_GRID: "2" is not orchestrators x workers \(e\.g\. 2x4\)/)
    expect(() => loadSettings({ env: { BENCH_SCALING_GRID: '9x1' } })).toThrow(/BENCH_SCALING_GRID \(orchestrators of 9x1\)/)
  })
})

describe('HTML report', () => {
  test('a run with scaling results shows the grid, the curve and the cores warning; one without shows no scaling section', () => {
    const random = seededRandom(24)
    const doc = simulatedDocument(
      ['1x1', '1x2', '2x4'].map((t) => ({ file: 'scaling', bench: `scaling ${t}: latency @20/s`, samples: lognormalSamples(random, 50, 30, 0.3) })),
      { commit: 'c'.repeat(40) },
    )
    const topologies = [
      { topology: '1x1', processes: 2, throughput: 40 },
      { topology: '1x2', processes: 3, throughput: 70 },
      { topology: '2x4', processes: 6, throughput: 72 },
    ]
    doc.results.forEach((e, i) => (e.extra = { scaling: { ...topologies[i], offeredRate: 20, cores: 2 } }))
    const html = renderHtml({ current: doc })
    expect(html).toContain('<h2 id="scaling">Scaling</h2>')
    expect(html).toContain('ran up to 6 processes: past the cores the curve shows contention')
    expect(html).toMatch(/<td>1x2<\/td><td class="num">3<\/td><td class="num">70\.0<\/td><td class="num">\+30\.0<\/td>/)
    expect(html).toMatch(/<td>2x4<\/td><td class="num">6<\/td><td class="num">72\.0<\/td><td class="num">\+0\.7<\/td>/)
    expect(html).toMatch(/<svg[^>]*aria-label="Throughput ceiling per topology"[\s\S]*<polyline[^>]*points="[\d.]+,[\d.]+ [\d.]+,[\d.]+ [\d.]+,[\d.]+"/)
    for (const e of doc.results) e.extra = {}
    expect(renderHtml({ current: doc })).not.toContain('id="scaling"')
  })
})
