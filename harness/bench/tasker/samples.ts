/**
 * Per-sample records kept with end-to-end results: which task each sample was (the trace
 * breakdown joins on correlation_id) and the server's own view of its duration.
 *
 * The server-side duration comes from the orchestrator's database: the task's first transition to
 * `complete` minus the task's created_at (tasker.task_transitions, tasker.tasks; the same names in
 * tasker-core's migrations and the reference schema), read-only. Not from the API: tasker-core's
 * task view has completed_at always null. Where the suite cannot read that database the duration
 * is null and the results say why — never a number from somewhere else.
 */
import { connectPg } from '../../db/connect.ts'
import type { PgLimits } from '../../db/limits.ts'

export interface SampleRecord {
  task_uuid: string
  correlation_id: string
  /** client-observed milliseconds, POST → completion observed */
  ms: number
  /** complete transition − created_at as the server recorded them; null when not known */
  server_ms?: number | null
}

export interface ServerDurationSource {
  /** where server_ms came from, or null when it could not be read */
  source: 'database: first task_transitions.to_state = complete − tasks.created_at' | null
  /** why server_ms is null */
  reason?: string
}

const DURATIONS = `
  SELECT t.task_uuid::text AS task_uuid,
         extract(epoch FROM (min(tt.created_at) - t.created_at)) * 1000 AS server_ms
  FROM tasker.tasks t
  JOIN tasker.task_transitions tt ON tt.task_uuid = t.task_uuid AND tt.to_state::text = 'complete'
  WHERE t.task_uuid = ANY ($1::uuid[])
  GROUP BY t.task_uuid, t.created_at`

/**
 * Fills each record's server_ms (outside any sample) from the orchestrator's database, or with
 * null and a reason when `databaseUrl` is undefined or cannot be read.
 */
export async function serverDurations(
  records: SampleRecord[],
  database: { url: string | undefined; limits: PgLimits; unavailableReason?: string },
): Promise<ServerDurationSource> {
  const unknown = (reason: string): ServerDurationSource => {
    for (const r of records) r.server_ms = null
    return { source: null, reason }
  }
  if (!database.url) {
    return unknown(database.unavailableReason ?? 'the orchestrator’s database is not reachable from the suite (set DATABASE_URL to it); the API’s completed_at is not used (tasker-core leaves it null)')
  }
  if (records.length === 0) return { source: 'database: first task_transitions.to_state = complete − tasks.created_at' }
  let rows: { task_uuid: string; server_ms: string | number }[]
  try {
    const client = await connectPg(database.url, 'server-side durations', database.limits, { options: '-c default_transaction_read_only=on' })
    try {
      rows = (await client.query<{ task_uuid: string; server_ms: string | number }>(DURATIONS, [records.map((r) => r.task_uuid)])).rows
    } finally {
      await client.end().catch(() => {})
    }
  } catch (err) {
    return unknown(`the orchestrator’s database could not be read: ${(err as Error).message.split('\n')[0]}`)
  }
  const byTask = new Map(rows.map((r) => [r.task_uuid, Math.round(Number(r.server_ms) * 1000) / 1000]))
  for (const r of records) r.server_ms = byTask.get(r.task_uuid) ?? null
  return { source: 'database: first task_transitions.to_state = complete − tasks.created_at' }
}
