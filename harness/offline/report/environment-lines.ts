/** The environment of a run, as rows for tables and as one line for markdown. */
import type { EnvironmentFingerprint } from '../../results/environment.ts'
import { shortCommit } from '../../results/format.ts'

export function environmentRows(e: EnvironmentFingerprint): Array<[string, string]> {
  const rows: Array<[string, string]> = [
    ['Node', e.node],
    ['platform', `${e.platform} ${e.arch}`],
    ['CPU', `${e.cpuModel} × ${e.cpuCount}`],
    ['memory', `${e.memoryGiB} GiB`],
    ['PostgreSQL', e.postgres ? `${e.postgres.version} (${e.postgres.mode})` : 'unknown'],
    ['pgmq', e.pgmq ? `${e.pgmq.kind} ${e.pgmq.version}` : 'unknown'],
    ['orchestrator', e.orchestrator ? `${e.orchestrator.mode}${e.orchestrator.workers !== undefined ? `, ${e.orchestrator.workers} workers` : ''}` : 'unknown'],
    ['traces', e.traces ?? 'unknown'],
    ['profile', e.profile],
    ['commit', shortCommit(e.commit)],
    ['started', e.timestamp],
  ]
  return rows
}

/** `Node v24.1.0 · linux x64 · AMD EPYC 7763 × 4 · PostgreSQL 18.1 (embedded) · pgmq extension 1.7.0 · profile full` */
export function environmentLine(e: EnvironmentFingerprint): string {
  const parts = [`Node ${e.node}`, `${e.platform} ${e.arch}`, `${e.cpuModel} × ${e.cpuCount}`]
  if (e.postgres) parts.push(`PostgreSQL ${e.postgres.version} (${e.postgres.mode})`)
  if (e.pgmq) parts.push(`pgmq ${e.pgmq.kind} ${e.pgmq.version}`)
  if (e.orchestrator) parts.push(`orchestrator ${e.orchestrator.mode}${e.orchestrator.workers !== undefined ? ` × ${e.orchestrator.workers} workers` : ''}`)
  parts.push(`profile ${e.profile}`)
  return parts.join(' · ')
}
