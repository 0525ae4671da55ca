/**
 * Scratch databases: where every write of a run goes. Named `tasker_bench_<run id>_<purpose>`,
 * created on the server under test (SQL and NOTIFY timings are properties of the server), dropped
 * when the bench is done, and dropped again by the main process's cleanup (dropRunScratchDatabases)
 * so that Ctrl-C or a crashed bench worker leaves none behind.
 *
 * Creating a database on a server the run did not start is itself a write: callers check that the
 * user allowed writes (RunInfo.writable) first.
 *
 * A scratch database is the bench role's alone: CONNECT and TEMPORARY, which CREATE DATABASE grants
 * to PUBLIC, are revoked at once, so no other role of the server can reach what is copied into it.
 * The sessions that create and drop it are connected to the database under test: they resolve
 * names in pg_catalog only and call its functions qualified, so none of the deployment's code runs
 * in them.
 */
import { randomBytes } from 'node:crypto'
import type pg from 'pg'
import { redactUrl } from '../config/settings.ts'
import { withDatabase } from './database-url.ts'
import { withClient } from './with-client.ts'

/** What a scratch database may be called: checked again right before it is created or dropped. */
const SCRATCH_NAME = /^tasker_bench_[0-9a-f]{8}_[a-z]{1,20}$/
const RUN_ID = /^[0-9a-f]{8}$/

const ROLE_PRIVILEGES = `SELECT current_user AS role, rolsuper OR rolcreatedb AS can FROM pg_catalog.pg_roles WHERE rolname = current_user`
const CREATE_DATABASE = `SELECT pg_catalog.format('CREATE DATABASE %I', $1::text) AS sql`
const PRIVATE_DATABASE = `SELECT pg_catalog.format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC', $1::text) AS sql`
// FORCE (PostgreSQL 13+) ends sessions still connected, e.g. a bench worker that died mid-bench.
const DROP_DATABASE = `SELECT pg_catalog.format('DROP DATABASE IF EXISTS %I', $1::text) OPERATOR(pg_catalog.||) CASE WHEN pg_catalog.current_setting('server_version_num')::int >= 130000 THEN ' WITH (FORCE)' ELSE '' END AS sql`
const RUN_DATABASES = `SELECT datname FROM pg_catalog.pg_database WHERE pg_catalog.starts_with(datname::text, $1::text) ORDER BY datname`
/**
 * The sessions creating a run's scratch databases (named by their application_name): ended before
 * the run's databases are listed, because a CREATE DATABASE still running is not yet in
 * pg_database, and one whose session sits between its statements would still send its CREATE.
 */
const END_CREATORS = `SELECT pid, pg_catalog.pg_terminate_backend(pid) AS ended FROM pg_catalog.pg_stat_activity WHERE application_name OPERATOR(pg_catalog.=) $1::text AND pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid() AND pg_catalog.pg_has_role(usesysid, 'MEMBER')`
const CREATORS_LEFT = `SELECT pid FROM pg_catalog.pg_stat_activity WHERE pid OPERATOR(pg_catalog.=) ANY($1::int[])`
/** How long the cleanup waits for ended creator sessions to be gone (their CREATE undone). */
const CREATORS_GONE_MS = 10_000

/** Sessions on the server under test that create and drop scratch databases. */
const ADMIN = { purpose: 'scratch databases', searchPath: 'catalog' } as const

export interface ScratchDatabase {
  name: string
  /** connection URL (print through redactUrl) */
  url: string
  /** drops it (closing its sessions first); safe to call twice */
  drop(): Promise<void>
}

/** A new run id: 8 hex digits, part of every scratch database name of the run. */
export function newRunId(): string {
  return randomBytes(4).toString('hex')
}

export function scratchName(runId: string, purpose: string): string {
  const name = `tasker_bench_${runId}_${purpose}`
  if (!SCRATCH_NAME.test(name)) throw new Error(`invalid scratch database name "${name}": expected tasker_bench_<8 hex>_<a-z purpose>`)
  return name
}

/** The application_name of the sessions that create the run's scratch databases. */
export function creatorApplicationName(runId: string): string {
  return `tasker-bench scratch ${runId}`
}

/** Creates `tasker_bench_<runId>_<purpose>` on the server of serverUrl. */
export async function createScratchDatabase(serverUrl: string, runId: string, purpose: string): Promise<ScratchDatabase> {
  const name = scratchName(runId, purpose)
  const creator = new URL(serverUrl)
  creator.searchParams.set('application_name', creatorApplicationName(runId))
  await withClient(creator.toString(), async (admin) => {
    const { rows } = await admin.query<{ role: string; can: boolean }>(ROLE_PRIVILEGES)
    if (!rows[0]?.can) {
      throw new Error(
        `the role ${rows[0]?.role ?? '?'} of ${redactUrl(serverUrl)} may not create databases, and the suite writes only into scratch databases: ` +
          `grant it with ALTER ROLE ${rows[0]?.role ?? '<role>'} CREATEDB, or unset BENCH_SEED to run the read-only benches only`,
      )
    }
    await admin.query(await statement(admin, DROP_DATABASE, name))
    await admin.query(await statement(admin, CREATE_DATABASE, name))
    await admin.query(await statement(admin, PRIVATE_DATABASE, name))
  }, ADMIN)
  let dropped = false
  return {
    name,
    url: withDatabase(serverUrl, name),
    async drop() {
      if (dropped) return
      dropped = true
      await withClient(serverUrl, async (admin) => {
        await admin.query(await statement(admin, DROP_DATABASE, name))
      }, ADMIN)
    },
  }
}

/**
 * Drops every scratch database of a run that is still there, including one whose CREATE was still
 * running (its session is ended first); returns their names. Goes on past a database it cannot
 * drop, and then throws one error naming the run, the server and each database left with its cause.
 */
export async function dropRunScratchDatabases(serverUrl: string, runId: string): Promise<string[]> {
  if (!RUN_ID.test(runId)) throw new Error(`invalid run id "${runId}": expected 8 hex digits`)
  const left: string[] = []
  const dropped: string[] = []
  try {
    await withClient(serverUrl, async (admin) => {
      // Not ending them is reported, and what can be dropped still is.
      const creating = await endCreators(admin, runId).catch((err: Error) => `could not be ended (${err.message})`)
      if (typeof creating === 'string') left.push(`sessions creating its databases, which ${creating}`)
      else if (creating.length > 0) left.push(`sessions creating its databases (pid ${creating.join(', ')}), still there ${CREATORS_GONE_MS / 1000} s after being ended`)
      const { rows } = await admin.query<{ datname: string }>(RUN_DATABASES, [`tasker_bench_${runId}_`])
      for (const { datname } of rows) {
        if (!SCRATCH_NAME.test(datname)) continue
        try {
          await admin.query(await statement(admin, DROP_DATABASE, datname))
          dropped.push(datname)
        } catch (err) {
          left.push(`${datname} (${(err as Error).message})`)
        }
      }
    }, ADMIN)
  } catch (err) {
    left.push(`whatever it had, as the cleanup could not finish (${(err as Error).message})`)
  }
  if (left.length > 0) {
    throw new Error(
      `run ${runId} on ${redactUrl(serverUrl)}: left ${left.join('; ')}${dropped.length > 0 ? `; dropped ${dropped.join(', ')}` : ''}; ` +
        `drop what is left yourself (the databases named tasker_bench_${runId}_*)`,
    )
  }
  return dropped
}

/** Ends the run's creator sessions and waits (bounded) until they are gone; returns the pids still there. */
async function endCreators(admin: pg.ClientBase, runId: string): Promise<number[]> {
  const { rows } = await admin.query<{ pid: number }>(END_CREATORS, [creatorApplicationName(runId)])
  let pids = rows.map((r) => r.pid)
  const deadline = Date.now() + CREATORS_GONE_MS
  for (let i = 0; pids.length > 0 && i < 1_000 && Date.now() < deadline; i++) {
    await new Promise((r) => setTimeout(r, 50))
    pids = (await admin.query<{ pid: number }>(CREATORS_LEFT, [pids])).rows.map((r) => r.pid)
  }
  return pids
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
  if (!SCRATCH_NAME.test(name)) throw new Error(`refusing to create or drop database "${name}": not a tasker_bench_<run id>_<purpose> scratch name`)
  const { rows } = await client.query<{ sql: string }>(template, [name])
  return rows[0]!.sql
}
