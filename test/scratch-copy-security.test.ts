/**
 * A scratch copy grants no role anything it lacked in the database copied, and copying runs none
 * of that database's code (issue 21, items 1 and 2). The target is prepared the way a deployment
 * could be: its owner (not a superuser) has a SECURITY DEFINER function that runs any statement,
 * with EXECUTE revoked from PUBLIC, and a `public.format(text, text)` that shadows the built-in for
 * callers whose search_path reaches public; an unprivileged login role exists on the server. The
 * bench role is the server's superuser, the worst case: what it owns in a copy runs as superuser.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import pg from 'pg'
import { openBenchDatabase, type BenchDatabase } from '../harness/bench/database/bench-database.ts'
import { withDatabase } from '../harness/db/database-url.ts'
import { newRunId } from '../harness/db/scratch-database.ts'
import { withClient } from '../harness/db/with-client.ts'
import { snapshotDatabase } from '../harness/main/conformance/catalog-snapshot.ts'
import type { RunInfo } from '../harness/results/run-info.ts'
import { applyMigrations } from '../orchestrator/index.ts'
import { usePostgres } from './support/postgres.ts'

const db = usePostgres()
const OWNER = { name: 'deployment_owner', password: 'owner-secret' }
const INTRUDER = { name: 'intruder', password: 'intruder-secret' }
const DEPLOYMENT = 'deployment'
const NO_PATH = 'deployment_no_path'

const as = (url: string, role: { name: string; password: string }) => {
  const u = new URL(url)
  u.username = role.name
  u.password = role.password
  return u.toString()
}
/** The test's own look at a database: pg_catalog only, so that it runs nothing of the deployment's either. */
const inspect = <T>(url: string, fn: (c: pg.Client) => Promise<T>) => withClient(url, fn, { searchPath: 'catalog' })
/** Opened by the path a bench takes with BENCH_SEED=true against that database. */
const seededRun = (url: string) => ({ writable: true, targetDatabaseUrl: url, runId: newRunId() }) as unknown as RunInfo
const open = async (url: string): Promise<BenchDatabase> => {
  const opened = await openBenchDatabase(seededRun(url), { purpose: 'security', readOnly: false })
  if ('skip' in opened) throw new Error(opened.skip)
  return opened
}

/** `refused: <error>`, or `allowed` when the statement ran. */
async function tryAs(url: string, fn: (c: pg.Client) => Promise<unknown>): Promise<string> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 20_000 })
  try {
    await client.connect()
    await fn(client)
    return 'allowed'
  } catch (err) {
    return `refused: ${(err as Error).message}`
  } finally {
    await client.end().catch(() => {})
  }
}

let deploymentUrl: string
let noPathUrl: string

beforeAll(async () => {
  await db.pool.query(`CREATE ROLE ${OWNER.name} LOGIN PASSWORD '${OWNER.password}'`)
  await db.pool.query(`CREATE ROLE ${INTRUDER.name} LOGIN PASSWORD '${INTRUDER.password}'`)
  await db.pool.query(`CREATE DATABASE ${DEPLOYMENT} OWNER ${OWNER.name}`)
  await db.pool.query(`CREATE DATABASE ${NO_PATH} OWNER ${OWNER.name}`)
  deploymentUrl = withDatabase(db.server.url, DEPLOYMENT)
  noPathUrl = withDatabase(db.server.url, NO_PATH)
  // A Tasker schema (the superuser's), then the owner's own functions.
  await withClient(deploymentUrl, (c) => applyMigrations(c))
  await withClient(as(deploymentUrl, OWNER), async (c) => {
    await c.query(`CREATE FUNCTION public.run_as_owner(cmd text) RETURNS void LANGUAGE plpgsql SECURITY DEFINER AS $$ BEGIN EXECUTE cmd; END $$`)
    await c.query(`REVOKE EXECUTE ON FUNCTION public.run_as_owner(text) FROM PUBLIC`)
    // Whoever calls format(text, text) with public on the path runs this, as themselves.
    await c.query(`CREATE FUNCTION public.format(text, text) RETURNS text LANGUAGE plpgsql AS $$
      BEGIN
        CREATE TABLE IF NOT EXISTS public.format_ran (by_role name);
        INSERT INTO public.format_ran VALUES (current_user);
        RETURN pg_catalog.format($1, $2);
      END $$`)
  })
  await withClient(as(noPathUrl, OWNER), async (c) => {
    await c.query(`CREATE SCHEMA app`)
    await c.query(`CREATE TABLE app.items (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL)`)
    await c.query(`CREATE FUNCTION app.item_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM app.items'`)
    await c.query(`ALTER DATABASE ${NO_PATH} SET search_path = ''`)
  })
}, 120_000)

afterAll(async () => {
  await db.pool.query(`ALTER ROLE ${INTRUDER.name} NOSUPERUSER`).catch(() => {})
})

describe('a BENCH_SEED copy of a deployment', () => {
  test('in the deployment, the unprivileged role may not call the owner’s function', async () => {
    const attempt = await tryAs(as(deploymentUrl, INTRUDER), (c) => c.query(`SELECT public.run_as_owner('ALTER ROLE ${INTRUDER.name} SUPERUSER')`))
    expect(attempt).toMatch(/^refused: permission denied for function run_as_owner/)
  })

  test('no other role may connect to the copy, call its functions or use its schemas, tables and types; it does not become superuser', async () => {
    const copy = await open(deploymentUrl)
    try {
      const attempt = await tryAs(as(copy.url, INTRUDER), (c) => c.query(`SELECT public.run_as_owner('ALTER ROLE ${INTRUDER.name} SUPERUSER')`))
      expect(attempt).toMatch(/^refused: permission denied for database "tasker_bench_[0-9a-f]{8}_security"/)
      const granted = await inspect(copy.url, async (c) => {
        const { rows } = await c.query<Record<string, number | boolean>>(
          `SELECT has_database_privilege($1, current_database(), 'CONNECT') AS connect,
                  has_database_privilege($1, current_database(), 'TEMPORARY') AS temporary,
                  has_function_privilege($1, 'public.run_as_owner(text)', 'EXECUTE') AS run_as_owner,
                  (SELECT count(*)::int FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND has_function_privilege($1, p.oid, 'EXECUTE')) AS functions,
                  (SELECT count(*)::int FROM pg_namespace n
                    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname !~ '^pg_'
                      AND (has_schema_privilege($1, n.oid, 'USAGE') OR has_schema_privilege($1, n.oid, 'CREATE'))) AS schemas,
                  (SELECT count(*)::int FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_' AND c.relkind IN ('r', 'v', 'm', 'S')
                      AND has_table_privilege($1, c.oid, 'SELECT, INSERT, UPDATE, DELETE')) AS relations,
                  (SELECT count(*)::int FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_' AND t.typtype IN ('e', 'd')
                      AND has_type_privilege($1, t.oid, 'USAGE')) AS types`,
          [INTRUDER.name],
        )
        return rows[0]
      })
      expect(granted).toEqual({ connect: false, temporary: false, run_as_owner: false, functions: 0, schemas: 0, relations: 0, types: 0 })
      // The copy is the bench role's, and works for it: the function it copied is there, callable by it.
      await inspect(copy.url, async (c) => {
        expect((await c.query(`SELECT pg_get_userbyid(proowner) AS owner, prosecdef FROM pg_proc WHERE oid = 'public.run_as_owner(text)'::regprocedure`)).rows[0]).toEqual({
          owner: 'postgres',
          prosecdef: true,
        })
        expect((await c.query(`SELECT has_function_privilege(current_user, 'public.run_as_owner(text)', 'EXECUTE') AS can`)).rows[0].can).toBe(true)
      })
    } finally {
      await copy.close()
    }
    const { rows } = await db.pool.query(`SELECT rolsuper FROM pg_roles WHERE rolname = $1`, [INTRUDER.name])
    expect(rows[0].rolsuper).toBe(false)
  })

  test('copying runs none of the deployment’s code: its public.format never runs, the deployment is exactly as it was', async () => {
    const before = await inspect(deploymentUrl, snapshotDatabase)
    const copy = await open(deploymentUrl)
    try {
      // Not in the copy either, where the copied public.format is on the copying session's path.
      expect((await inspect(copy.url, (c) => c.query(`SELECT to_regclass('public.format_ran') AS t`))).rows[0].t).toBeNull()
    } finally {
      await copy.close()
    }
    expect((await inspect(deploymentUrl, (c) => c.query(`SELECT to_regclass('public.format_ran') AS t`))).rows[0].t).toBeNull()
    expect(await inspect(deploymentUrl, snapshotDatabase)).toEqual(before)
  })

  test('a deployment whose database sets search_path = \'\' is copied, with that setting', async () => {
    const copy = await open(noPathUrl)
    try {
      const setting = await inspect(copy.url, async (c) =>
        (await c.query(`SELECT setconfig FROM pg_db_role_setting WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database()) AND setrole = 0`)).rows[0]?.setconfig,
      )
      expect(setting).toEqual(['search_path=""'])
      await inspect(copy.url, async (c) => {
        await c.query(`INSERT INTO app.items (name) VALUES ('one')`)
        expect((await c.query(`SELECT app.item_count() AS n`)).rows[0].n).toBe('1')
      })
    } finally {
      await copy.close()
    }
  })
})
