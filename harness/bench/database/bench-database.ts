/**
 * The database a SQL-level bench works in, opened from a bench file.
 *
 * - Writes allowed (the run owns the server, or BENCH_SEED=true): a scratch database on the server
 *   under test with a copy of the measured database's schema, functions and extensions
 *   (copySchema), so the bench measures the target's own code while writing nothing into it.
 * - Writes not allowed: the measured database itself, read-only, for the benches that can work
 *   read-only; the others skip, with a line saying why.
 *
 * Sessions get `search_path = pg_catalog, <schema of the Tasker functions>, public`, as
 * tasker-core's application runs with (its functions name their tables unqualified; tasker-core
 * docs/reference/table-management.md: "With search_path = tasker, public, queries use unqualified
 * table names"), pg_catalog named first (where PostgreSQL otherwise puts it implicitly). The
 * suite's own sessions that copy a target resolve names in pg_catalog only (withClient).
 */
import { redactUrl } from '../../config/settings.ts'
import { withClient } from '../../db/with-client.ts'
import type { RunInfo } from '../../results/run-info.ts'
import { copySchema } from './copy-schema.ts'
import { databaseName } from '../../db/database-url.ts'
import { createScratchDatabase } from '../../db/scratch-database.ts'
import { findTaskerFunctions, type TaskerFunctions } from '../../db/tasker-functions.ts'

export interface BenchDatabase {
  mode: 'scratch' | 'read-only'
  /** connection URL of the database to use (print through redactUrl) */
  url: string
  name: string
  writable: boolean
  /** one line: which database and why */
  reason: string
  /** the Tasker functions as defined in that database (same hashes as the measured database) */
  functions: TaskerFunctions
  /** drops a scratch database; nothing otherwise */
  close(): Promise<void>
}

export interface OpenOptions {
  /** part of the scratch database's name: `tasker_bench_<run id>_<purpose>` */
  purpose: string
  /** without write permission: use the measured database read-only (else: skip) */
  readOnly: boolean
  log?: (line: string) => void
}

/** Why a bench that must write cannot run here. */
export function writesRefused(run: RunInfo): string | undefined {
  if (run.writable) return undefined
  return `writes nothing to ${databaseName(run.targetDatabaseUrl)}, a database this run did not create (set BENCH_SEED=true to let the suite write into a scratch database on that server)`
}

export async function openBenchDatabase(run: RunInfo, options: OpenOptions): Promise<BenchDatabase | { skip: string }> {
  const log = options.log ?? (() => {})
  const target = databaseName(run.targetDatabaseUrl)
  if (!run.writable) {
    const refused = writesRefused(run)!
    if (!options.readOnly) return { skip: refused }
    return {
      mode: 'read-only',
      name: target,
      writable: false,
      reason: `${target}, read-only (set BENCH_SEED=true to let the suite seed a copy of it in a scratch database)`,
      ...(await withFunctions(run.targetDatabaseUrl)),
      close: async () => {},
    }
  }

  const scratch = await createScratchDatabase(run.targetDatabaseUrl, run.runId, options.purpose)
  try {
    const t0 = performance.now()
    const report = await withClient(
      run.targetDatabaseUrl,
      (source) => withClient(scratch.url, (copy) => copySchema(source, copy), { purpose: `writing the copy into ${scratch.name}`, searchPath: 'catalog' }),
      { purpose: `reading the schema of ${target}`, searchPath: 'catalog' },
    )
    const counts = Object.entries(report.counts).map(([k, n]) => `${n} ${k}`).join(', ')
    log(`scratch database ${scratch.name}: schema of ${target} copied in ${(performance.now() - t0).toFixed(0)} ms (${counts})`)
    for (const line of report.skipped) log(`not copied: ${line}`)
    return {
      mode: 'scratch',
      ...(await withFunctions(scratch.url)),
      name: scratch.name,
      writable: true,
      reason: `scratch database ${scratch.name} on the server of ${redactUrl(run.targetDatabaseUrl)}, with the schema and functions of ${target}; dropped at the end`,
      close: () => scratch.drop(),
    }
  } catch (err) {
    await scratch.drop().catch(() => {})
    throw new Error(`preparing scratch database ${scratch.name}: ${(err as Error).message}`, { cause: err })
  }
}

/** The database's Tasker functions, and its URL with their schema first on the search_path. */
async function withFunctions(url: string): Promise<{ url: string; functions: TaskerFunctions }> {
  const functions = await withClient(url, findTaskerFunctions, { purpose: `finding the Tasker functions of ${databaseName(url)}` })
  const schema = functions.get_step_readiness_status?.schema ?? functions.pgmq_send_with_notify?.schema
  return { url: schema ? withSearchPath(url, schema) : url, functions }
}

/**
 * Adds `options=-c search_path=pg_catalog,<schema>,public -c TimeZone=UTC` unless the URL sets its
 * own options. UTC: tasker-core's columns are `timestamp without time zone` holding UTC wall-clock
 * time, and its functions compare them with now(), which a session in another zone shifts.
 */
export function withSearchPath(url: string, schema: string): string {
  const u = new URL(url)
  if (u.searchParams.has('options') || !/^[a-z_][a-z0-9_]*$/.test(schema)) return url
  u.searchParams.set('options', `-c search_path=pg_catalog,${schema},public -c TimeZone=UTC`)
  return u.toString()
}
