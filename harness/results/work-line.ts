/** One compact terminal line of a WorkMeasurement (harness/results/work.ts), per task. */
import type { WorkMeasurement } from './work.ts'

const fig = (n: number | undefined) => (n === undefined ? '?' : n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2))
const bytes = (n: number | undefined) => (n === undefined ? '?' : n >= 10_000 ? `${(n / 1000).toFixed(1)} kB` : `${n.toFixed(0)} B`)

/**
 * `40.1 statements (21.0 round trips), 95.0 rows, 612 blocks (0.00 read), 14.3 kB WAL, 9.00 commits,
 * pgmq sent/read/deleted/archived 6.00/6.00/0/6.00, 3.00 notifies, CPU 12.3 ms (…) per task (n=120);
 * background 2.00 statements/s`
 */
export function workLine(w: WorkMeasurement): string {
  const p = w.perTask
  const parts = [
    `${fig(p.statements)} statements (${fig(p.round_trips)} round trips)`,
    `${fig(p.rows)} rows`,
    `${fig(p.shared_blks)} blocks (${fig(p.shared_blks_read)} read, ${fig(p.shared_blks_dirtied)} dirtied)`,
    `${bytes(p.wal_bytes)} WAL`,
  ]
  if (p.commits !== undefined) parts.push(`${fig(p.commits)} commits${w.pgStatDatabase && !w.pgStatDatabase.settled ? ' (not settled)' : ''}`)
  parts.push(`pgmq sent/read/deleted/archived ${fig(p.pgmq_sent)}/${fig(p.pgmq_read)}/${fig(p.pgmq_deleted)}/${fig(p.pgmq_archived)}`, `${fig(p.notifies)} notifies`)
  const groups = Object.entries(w.cpuMsPerTask ?? {})
    .filter(([, ms]) => ms >= 0.01)
    .map(([g, ms]) => `${g} ${fig(ms)}`)
  if (!w.unavailable?.cpu_ms) parts.push(`CPU ${fig(p.cpu_ms)} ms (${groups.join(', ')})`)
  const bg = w.background.windowMs > 0 ? `; background ${fig(w.background.perSecond.statements ?? 0)} statements/s subtracted` : ''
  return `${parts.join(', ')} per task (${w.tasks} tasks)${bg}`
}
