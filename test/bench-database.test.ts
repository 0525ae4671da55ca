/**
 * A database the run did not create is measured, never changed: the SQL and NOTIFY benches copy
 * its schema into scratch databases on the same server, call its own functions there, and leave
 * it exactly as it was (catalog hash and row counts), also when interrupted.
 */
import { readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import pg from 'pg'
import { copySchema } from '../harness/bench/database/copy-schema.ts'
import { withDatabase } from '../harness/db/database-url.ts'
import { createScratchDatabase, dropRunScratchDatabases, newRunId } from '../harness/db/scratch-database.ts'
import { findTaskerFunctions } from '../harness/db/tasker-functions.ts'
import { applyMigrations } from '../orchestrator/index.ts'
import { withClient } from '../harness/db/with-client.ts'
import { snapshotDatabase } from '../harness/main/conformance/catalog-snapshot.ts'
import { migrateTasker, usePostgres } from './support/postgres.ts'
import { runBench, type BenchRun } from './support/run-bench.ts'

const db = usePostgres(migrateTasker)
const runs: BenchRun[] = []
afterAll(() => {
  for (const r of runs) for (const dir of [r.resultsDir, r.tmpDir]) rmSync(dir, { recursive: true, force: true })
})

const SCRATCH_DATABASES = `SELECT datname FROM pg_database WHERE datname LIKE 'tasker\\_bench\\_%' ORDER BY 1`
const scratchDatabases = async () => (await db.pool.query<{ datname: string }>(SCRATCH_DATABASES)).rows.map((r) => r.datname)

describe('copySchema', () => {
  test('a scratch copy has the same functions (same hashes), empty tables, a working pgmq and the search_path; the source is unchanged', async () => {
    const before = await withClient(db.server.url, snapshotDatabase)
    await db.pool.query(`ALTER DATABASE postgres SET search_path TO tasker, public`)
    const scratch = await createScratchDatabase(db.server.url, newRunId(), 'copy')
    try {
      const report = await withClient(db.server.url, (source) => withClient(scratch.url, (target) => copySchema(source, target)))
      expect(report.counts).toMatchObject({ schema: expect.any(Number), function: expect.any(Number), table: expect.any(Number), index: expect.any(Number), setting: 1 })
      expect(report.skipped).toEqual([])

      const original = await withClient(db.server.url, findTaskerFunctions)
      const copied = await withClient(scratch.url, findTaskerFunctions)
      expect(Object.keys(original).length).toBeGreaterThanOrEqual(7)
      expect(copied).toEqual(original)

      await withClient(scratch.url, async (c) => {
        expect((await c.query('SHOW search_path')).rows[0].search_path).toBe('tasker, public')
        expect((await c.query('SELECT count(*)::int AS n FROM tasker.tasks')).rows[0].n).toBe(0)
        // pgmq's queue tables are not copied; queues made in the copy work.
        expect((await c.query(`SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'pgmq' AND c.relname ~ '^[aq]_'`)).rows[0].n).toBe(0)
        await c.query(`SELECT pgmq.create('copied_queue')`)
        const send = `${copied.pgmq_send_with_notify!.schema}.pgmq_send_with_notify`
        const { rows } = await c.query(`SELECT ${send}('copied_queue', '{"a":1}'::jsonb, 0) AS id`)
        expect(Number(rows[0].id)).toBeGreaterThan(0)
      })
    } finally {
      await scratch.drop()
      await db.pool.query(`ALTER DATABASE postgres RESET search_path`)
    }
    expect(await withClient(db.server.url, snapshotDatabase)).toEqual(before)
  })

  test('dropRunScratchDatabases drops the run’s scratch databases and no one else’s', async () => {
    const [mine, other] = [newRunId(), newRunId()]
    await createScratchDatabase(db.server.url, mine, 'one')
    await createScratchDatabase(db.server.url, mine, 'two')
    const theirs = await createScratchDatabase(db.server.url, other, 'one')
    expect((await dropRunScratchDatabases(db.server.url, mine)).sort()).toEqual([`tasker_bench_${mine}_one`, `tasker_bench_${mine}_two`])
    expect(await scratchDatabases()).toEqual([theirs.name])
    await theirs.drop()
    await expect(dropRunScratchDatabases(db.server.url, "x'; DROP")).rejects.toThrow(/invalid run id/)
  })
})

describe('an external Tasker database with functions of its own', () => {
  const DEPLOYMENT = 'deployment'
  let url: string
  let listener: pg.Client
  const heard: string[] = []
  const SQL_BENCH = 'benchmarks/sql-functions.bench.ts'
  const EVENT_BENCH = 'benchmarks/event-propagation.bench.ts'
  // Budgets out of the way: this is about what is measured and written, not how fast.
  const external = () => ({ BENCH_PROFILE: 'smoke', DATABASE_URL: url, BENCH_ORCHESTRATOR: 'off', BENCH_SQL_SCALES: '200', BENCH_BUDGET_SCALE: '1000' })

  beforeAll(async () => {
    await db.pool.query(`CREATE DATABASE ${DEPLOYMENT}`)
    url = withDatabase(db.server.url, DEPLOYMENT)
    await withClient(url, async (c) => {
      await applyMigrations(c)
      // Its own get_task_execution_context: the same rows, 5 ms later.
      await c.query(`ALTER FUNCTION tasker.get_task_execution_context(uuid) RENAME TO deployment_execution_context`)
      const { rows } = await c.query(`SELECT pg_get_function_result('tasker.deployment_execution_context(uuid)'::regprocedure) AS result`)
      await c.query(`CREATE FUNCTION tasker.get_task_execution_context(uuid) RETURNS ${rows[0].result} LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_sleep(0.005); RETURN QUERY SELECT * FROM tasker.deployment_execution_context($1); END $$`)
      await c.query(`ALTER DATABASE ${DEPLOYMENT} SET search_path TO tasker, public`)
    })
    listener = new pg.Client({ connectionString: url })
    await listener.connect()
    listener.on('notification', (n) => heard.push(n.channel))
    for (const channel of ['pgmq_message_ready', 'pgmq_message_ready.benchmark_event_test', 'pgmq_queue_created']) await listener.query(`LISTEN "${channel}"`)
  }, 120_000)

  afterAll(async () => {
    await listener?.end()
  })

  test('with BENCH_SEED=true: its own functions are measured in a scratch copy; it is left exactly as it was, and hears nothing', async () => {
    const before = await withClient(url, snapshotDatabase)
    const run = await runBench([SQL_BENCH, EVENT_BENCH], { ...external(), BENCH_SEED: 'true' }, 400_000)
    runs.push(run)
    expect(run.code, run.output.slice(-4000)).toBe(0)
    expect(run.output).toMatch(/scratch database tasker_bench_[0-9a-f]{8}_sql: schema of deployment copied/)
    expect(run.output).toMatch(/scratch database tasker_bench_[0-9a-f]{8}_events: schema of deployment copied/)

    const doc = JSON.parse(readFileSync(path.join(run.resultsDir, 'latest.json'), 'utf8'))
    const result = (bench: string) => doc.results.find((r: { bench: string }) => r.bench === bench)
    const context = result('get_task_execution_context @200')
    const readiness = result('get_step_readiness_status @200')
    // The deployment's pg_sleep(0.005) shows up: no sample under 5 ms, about 5 ms more than a
    // function of similar cost. Fastest samples, since a loaded machine only ever adds time
    // (hence also the wider upper bound).
    expect(context.min).toBeGreaterThanOrEqual(5)
    expect(context.min - readiness.min).toBeGreaterThan(4.5)
    expect(context.min - readiness.min).toBeLessThan(8)
    const deployed = await withClient(url, findTaskerFunctions)
    expect(context.extra).toMatchObject({ function: 'tasker.get_task_execution_context', functionHash: deployed.get_task_execution_context!.hash })
    expect(doc.environment.functions['tasker.get_task_execution_context']).toBe(deployed.get_task_execution_context!.hash)
    expect(result('notify small payload').n).toBeGreaterThan(0)

    expect(await withClient(url, snapshotDatabase)).toEqual(before)
    expect(heard).toEqual([])
    expect(await scratchDatabases()).toEqual([])
  })

  test('without BENCH_SEED: nothing is written; the event bench skips saying why, the SQL bench only reads', async () => {
    const before = await withClient(url, snapshotDatabase)
    const run = await runBench([SQL_BENCH, EVENT_BENCH], external(), 300_000)
    runs.push(run)
    expect(run.code, run.output.slice(-4000)).toBe(0)
    expect(run.output).toContain('skipped: writes nothing to deployment, a database this run did not create (set BENCH_SEED=true')
    expect(run.output).toContain('dataset database: deployment, read-only')
    expect(await withClient(url, snapshotDatabase)).toEqual(before)
    expect(heard).toEqual([])
    expect(await scratchDatabases()).toEqual([])
  })

  test('with BENCH_SEED=true the embedded orchestrator works in a scratch database of its own, not in the deployment', async () => {
    const before = await withClient(url, snapshotDatabase)
    const { BENCH_ORCHESTRATOR: _, ...env } = external()
    const run = await runBench(['benchmarks/task-initialization.bench.ts'], { ...env, BENCH_SEED: 'true', BENCH_TRACES: 'off' }, 300_000)
    runs.push(run)
    expect(run.code, run.output.slice(-4000)).toBe(0)
    expect(run.output).toMatch(/orchestrator database: scratch database tasker_bench_[0-9a-f]{8}_orchestrator on the external server/)
    expect(await withClient(url, snapshotDatabase)).toEqual(before)
    expect(await scratchDatabases()).toEqual([])
  })

  test('Ctrl-C while the scratch database is being seeded: the scratch database is dropped', async () => {
    const before = await withClient(url, snapshotDatabase)
    const run = await runBench([SQL_BENCH], { ...external(), BENCH_SEED: 'true', BENCH_SQL_SCALES: '200000' }, 300_000, {
      interruptOn: /seeding tasks 0\.\.199,999/,
    })
    runs.push(run)
    expect(run.output).toMatch(/seeding tasks 0\.\.199,999/)
    expect(run.code).not.toBe(0)
    expect(await scratchDatabases(), run.output.slice(-3000)).toEqual([])
    expect(await withClient(url, snapshotDatabase)).toEqual(before)
  })
})
