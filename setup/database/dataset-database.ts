/**
 * Where the SQL benchmarks' dataset lives.
 *
 * - A server the run owns: a scratch database `tasker_bench_sql_<8 hex>` on it, with pgmq and the
 *   tasker schema, dropped at the end. The seeded tasks never reach the database the running
 *   orchestrator works on (its fallback polls would pick the seeded ready steps up).
 * - An external server with BENCH_SEED=true: the same scratch database when the role may create
 *   databases; otherwise the dataset is seeded into DATABASE_URL itself (BENCH_SEED is that
 *   permission) and stays there.
 * - An external server without BENCH_SEED: nothing is written. The benches sample the tasks that
 *   are already there, read-only.
 */
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { redactUrl } from '../config.ts'
import { applyMigrations } from '../../fixtures/orchestrator/src/db/migrate.ts'

export type DatasetDatabaseMode = 'scratch' | 'in-place' | 'read-only'

export interface DatasetDatabase {
  mode: DatasetDatabaseMode
  /** connection URL of the database holding the dataset (print through redactUrl) */
  url: string
  /** its name */
  database: string
  /** whether the suite may seed it and create queues in it */
  writable: boolean
  /** one line: which database and why */
  reason: string
  /** drops a scratch database (closing its connections first); nothing otherwise */
  close(): Promise<void>
}

export interface DatasetDatabaseOptions {
  /** the run's database (RunInfo.databaseUrl) */
  databaseUrl: string
  /** the run started this server itself (RunInfo.postgres.owned) */
  owned: boolean
  /** BENCH_SEED */
  allowSeed: boolean
  log?: (line: string) => void
}

/** What a scratch database may be called: checked again right before it is created or dropped. */
const SCRATCH_NAME = /^tasker_bench_sql_[0-9a-f]{8}$/

const CAN_CREATE_DATABASES = `SELECT rolsuper OR rolcreatedb AS can FROM pg_roles WHERE rolname = current_user`
const CREATE_DATABASE = `SELECT format('CREATE DATABASE %I', $1::text) AS sql`
// FORCE (PostgreSQL 13+) ends sessions still connected, e.g. a worker that died mid-bench.
const DROP_DATABASE = `SELECT format('DROP DATABASE IF EXISTS %I', $1::text) || CASE WHEN current_setting('server_version_num')::int >= 130000 THEN ' WITH (FORCE)' ELSE '' END AS sql`

export async function openDatasetDatabase(options: DatasetDatabaseOptions): Promise<DatasetDatabase> {
  const log = options.log ?? (() => {})
  const home = databaseName(options.databaseUrl)
  if (!options.owned && !options.allowSeed) {
    return {
      mode: 'read-only',
      url: options.databaseUrl,
      database: home,
      writable: false,
      reason: `external database ${home}, read-only (set BENCH_SEED=true to let the suite seed a dataset)`,
      close: async () => {},
    }
  }

  const admin = new pg.Client({ connectionString: options.databaseUrl })
  await admin.connect()
  try {
    const { rows } = await admin.query<{ can: boolean }>(CAN_CREATE_DATABASES)
    if (!rows[0]?.can) {
      if (options.owned) throw new Error(`the role of ${redactUrl(options.databaseUrl)} may not create databases, although the run started this server`)
      // Prepared by the global setup (BENCH_SEED lets it install the schema there).
      return {
        mode: 'in-place',
        url: options.databaseUrl,
        database: home,
        writable: true,
        reason: `BENCH_SEED=true and the role may not create databases: seeding into ${home} itself; the dataset stays there`,
        close: async () => {},
      }
    }

    const name = `tasker_bench_sql_${randomBytes(4).toString('hex')}`
    await admin.query(await statement(admin, CREATE_DATABASE, name))
    const url = withDatabase(options.databaseUrl, name)
    log(`created scratch database ${name} for the dataset`)
    const drop = async () => {
      const c = new pg.Client({ connectionString: options.databaseUrl })
      await c.connect()
      try {
        await c.query(await statement(c, DROP_DATABASE, name))
      } finally {
        await c.end()
      }
    }
    try {
      const client = new pg.Client({ connectionString: url })
      await client.connect()
      try {
        await applyMigrations(client)
      } finally {
        await client.end()
      }
    } catch (err) {
      await drop().catch(() => {})
      throw new Error(`preparing the scratch database ${name} failed: ${(err as Error).message}`, { cause: err })
    }
    let closed = false
    return {
      mode: 'scratch',
      url,
      database: name,
      writable: true,
      reason: options.owned
        ? `scratch database ${name} on the run's server, dropped at the end (the orchestrator never sees the dataset)`
        : `BENCH_SEED=true: scratch database ${name} on the external server, dropped at the end`,
      async close() {
        if (closed) return
        closed = true
        await drop()
        log(`dropped scratch database ${name}`)
      },
    }
  } finally {
    await admin.end()
  }
}

/** Tasks and steps a database holds (exact counts). */
export async function countTaskerRows(client: pg.ClientBase): Promise<{ tasks: number; steps: number }> {
  const { rows } = await client.query<{ tasks: string; steps: string }>(
    'SELECT (SELECT count(*) FROM tasker.tasks) AS tasks, (SELECT count(*) FROM tasker.workflow_steps) AS steps',
  )
  return { tasks: Number(rows[0]!.tasks), steps: Number(rows[0]!.steps) }
}

/** The server quotes the identifier; the name is checked against SCRATCH_NAME first. */
async function statement(client: pg.ClientBase, template: string, name: string): Promise<string> {
  if (!SCRATCH_NAME.test(name)) throw new Error(`refusing to create or drop database "${name}": not a tasker_bench_sql_<8 hex> scratch name`)
  const { rows } = await client.query<{ sql: string }>(template, [name])
  return rows[0]!.sql
}

function databaseName(url: string): string {
  const path = new URL(url).pathname.replace(/^\//, '')
  return decodeURIComponent(path) || 'postgres'
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url)
  u.pathname = `/${encodeURIComponent(name)}`
  return u.toString()
}
