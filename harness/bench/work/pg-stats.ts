/**
 * Reading pg_stat_statements and pg_stat_database, read-only, for work per task.
 *
 * - A server the suite owns (embedded, container) starts with pg_stat_statements preloaded
 *   (track=all); the extension's view is created in the server's maintenance database
 *   (`postgres`) on first use, never in a database under test.
 * - Any other server: its pg_stat_statements is used when the view exists in the database the
 *   suite was given (DATABASE_URL) and the role may read every statement (superuser or
 *   pg_read_all_stats). Nothing is created or granted; without it, `open` returns the one line
 *   that says what is missing and how to enable it.
 */
import type pg from 'pg'
import type { DatabaseStat, StatementStat, StatSnapshot } from './statement-delta.ts'

export interface PgStatsReader {
  /** e.g. "pg_stat_statements 1.12 (track=all)" */
  description: string
  snapshot(databases: readonly string[]): Promise<StatSnapshot>
  /** pg_stat_database alone (for the wait until it settles) */
  databases(databases: readonly string[]): Promise<DatabaseStat[]>
}

export type OpenResult = { ok: true; reader: PgStatsReader } | { ok: false; missing: string }

const ENABLE =
  "to enable it: shared_preload_libraries = 'pg_stat_statements' and pg_stat_statements.track = all in postgresql.conf, restart, CREATE EXTENSION pg_stat_statements in the database DATABASE_URL names, and GRANT pg_read_all_stats TO the suite's role"

/**
 * The reader on `client` (connected to the statistics database), or why not. `owned`: the suite
 * started this server, so it may create the extension's view in that (maintenance) database.
 */
export async function openPgStats(client: pg.Client, owned: boolean): Promise<OpenResult> {
  const find = async () =>
    (
      await client.query<{ schema: string; version: string }>(
        `SELECT n.nspname AS schema, e.extversion AS version FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'`,
      )
    ).rows[0]
  let ext = await find()
  if (!ext && owned) {
    await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements')
    ext = await find()
  }
  if (!ext) return { ok: false, missing: `work per task: no pg_stat_statements in this database (${ENABLE})` }
  const { rows: privilege } = await client.query<{ all: boolean }>(
    `SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) OR pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS all`,
  )
  if (!privilege[0]?.all) return { ok: false, missing: `work per task: this role sees only its own statements in pg_stat_statements (${ENABLE})` }
  const { rows: settings } = await client.query<{ name: string; setting: string }>(
    `SELECT name, setting FROM pg_settings WHERE name IN ('pg_stat_statements.track', 'shared_preload_libraries', 'server_version_num')`,
  )
  const setting = (name: string) => settings.find((s) => s.name === name)?.setting ?? ''
  if (!/\bpg_stat_statements\b/.test(setting('shared_preload_libraries'))) {
    return { ok: false, missing: `work per task: pg_stat_statements is installed but not preloaded (${ENABLE})` }
  }
  if (Number(setting('server_version_num')) < 140000) {
    return { ok: false, missing: `work per task: needs PostgreSQL 14 or later (pg_stat_statements' toplevel and wal columns); this server is ${setting('server_version_num')}` }
  }
  const view = `${quoteIdent(ext.schema)}.pg_stat_statements`
  const statementsSql = `
    SELECT d.datname, s.queryid::text AS query_id, s.toplevel, min(s.query) AS query,
           sum(s.calls)::float8 AS calls, sum(s.rows)::float8 AS rows,
           sum(s.shared_blks_hit)::float8 AS hit, sum(s.shared_blks_read)::float8 AS read,
           sum(s.shared_blks_dirtied)::float8 AS dirtied, sum(s.shared_blks_written)::float8 AS written,
           sum(s.temp_blks_read + s.temp_blks_written)::float8 AS temp,
           sum(s.wal_records)::float8 AS wal_records, sum(s.wal_bytes)::float8 AS wal_bytes,
           sum(s.total_exec_time)::float8 AS exec_ms
    FROM ${view} s JOIN pg_database d ON d.oid = s.dbid
    WHERE d.datname = ANY ($1::text[]) AND s.queryid IS NOT NULL
    GROUP BY d.datname, s.queryid, s.toplevel`
  const databases = async (names: readonly string[]): Promise<DatabaseStat[]> => {
    const { rows } = await client.query<{ datname: string; c: number; r: number; i: number; u: number; d: number }>(
      `SELECT datname, xact_commit::float8 AS c, xact_rollback::float8 AS r, tup_inserted::float8 AS i, tup_updated::float8 AS u, tup_deleted::float8 AS d
       FROM pg_stat_database WHERE datname = ANY ($1::text[])`,
      [names],
    )
    return rows.map((r) => ({ datname: r.datname, commits: r.c, rollbacks: r.r, tupInserted: r.i, tupUpdated: r.u, tupDeleted: r.d }))
  }
  return {
    ok: true,
    reader: {
      description: `pg_stat_statements ${ext.version} (track=${setting('pg_stat_statements.track') || '?'}), pg_stat_database`,
      databases,
      async snapshot(names) {
        const at = performance.now()
        const { rows } = await client.query<Record<string, unknown>>(statementsSql, [names])
        const statements: StatementStat[] = rows.map((r) => ({
          datname: r.datname as string,
          queryId: r.query_id as string,
          toplevel: r.toplevel as boolean,
          query: (r.query as string | null) ?? '',
          calls: r.calls as number,
          rows: r.rows as number,
          sharedBlksHit: r.hit as number,
          sharedBlksRead: r.read as number,
          sharedBlksDirtied: r.dirtied as number,
          sharedBlksWritten: r.written as number,
          tempBlks: r.temp as number,
          walRecords: r.wal_records as number,
          walBytes: r.wal_bytes as number,
          execMs: r.exec_ms as number,
        }))
        return { at, statements, databases: await databases(names) }
      },
    },
  }
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}
