/**
 * The scaling bench's words: the grid as a table (tasks/s, the gain per added process over the
 * previous row, latency at the fixed rate), the warning when the grid runs more processes than
 * the machine has cores, and an external deployment's topology as its user described it.
 */
import type { LatencySummary } from '../../results/percentiles.ts'

export interface GridRow {
  label: string
  orchestrators: number | undefined
  workers: number | undefined
  throughput: number
  latency: LatencySummary | undefined
  achievedAtRate: number
}

/** Processes of a topology: its orchestration instances and workers. */
export function processes(row: Pick<GridRow, 'orchestrators' | 'workers'>): number | undefined {
  return row.orchestrators !== undefined && row.workers !== undefined ? row.orchestrators + row.workers : undefined
}

/** Tasks/s gained per process added since the previous row; undefined for the first. */
export function gainPerProcess(rows: readonly GridRow[], i: number): number | undefined {
  const [a, b] = [rows[i - 1], rows[i]]
  const pa = a && processes(a)
  const pb = b && processes(b)
  if (!a || !b || pa === undefined || pb === undefined || pb === pa) return undefined
  return (b.throughput - a.throughput) / (pb - pa)
}

export function gridTable(rows: readonly GridRow[], rate: number): string {
  const head = `topology        processes  tasks/s  gain/process  p50 @${rate}/s  p95 @${rate}/s  achieved @${rate}/s`
  const lines = rows.map((r, i) => {
    const gain = gainPerProcess(rows, i)
    const cells = [
      r.label.padEnd(15),
      String(processes(r) ?? '?').padStart(9),
      r.throughput.toFixed(1).padStart(8),
      (gain === undefined ? '—' : `${gain >= 0 ? '+' : ''}${gain.toFixed(1)}`).padStart(13),
      (r.latency ? `${r.latency.p50.toFixed(1)} ms` : '—').padStart(12),
      (r.latency ? `${r.latency.p95.toFixed(1)} ms` : '—').padStart(12),
      r.achievedAtRate.toFixed(1).padStart(17),
    ]
    return cells.join('  ')
  })
  return [head, ...lines].join('\n')
}

/** The plain warning when a topology runs more processes than there are cores, else undefined. */
export function coreWarning(grid: readonly (readonly [number, number])[], cores: number): string | undefined {
  const most = Math.max(...grid.map(([o, w]) => o + w))
  if (most <= cores) return undefined
  return (
    `this machine has ${cores} core(s) and the grid runs up to ${most} orchestrator and worker processes (plus PostgreSQL and the load generator): ` +
    'past the cores the curve shows contention for the CPU, not scaling — what this run tests is the mechanism (replicas coordinating correctly), not the gain'
  )
}

/** BENCH_TOPOLOGY as a label: `2x4` → `2 orchestrators × 4 workers`, anything else as given. */
export function describeTopology(raw: string | undefined): { label: string; orchestrators?: number; workers?: number } {
  if (!raw) return { label: 'external deployment (topology not given: set BENCH_TOPOLOGY, e.g. 2x4)' }
  const m = /^\s*(\d+)\s*[x×]\s*(\d+)\s*$/.exec(raw)
  if (!m) return { label: raw.trim() }
  const [o, w] = [Number(m[1]), Number(m[2])]
  return { label: `${o}x${w}`, orchestrators: o, workers: w }
}
