/**
 * The time limits are wired where the sessions are opened (issue 21, item 12): a bench file's own
 * connections carry the bench limits (its setup file, harness/bench/pg-defaults.ts), and
 * withClient bounds connecting and every answer with an error that names what it waited for.
 * The global setup's part: global-setup-limits.test.ts.
 */
import net from 'node:net'
import { rmSync } from 'node:fs'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { applyPgDefaults, pgLimitConfig, PgTimeoutError, processPgLimits, type PgLimits } from '../harness/db/limits.ts'
import { withClient } from '../harness/db/with-client.ts'
import { migrateTasker, usePostgres } from './support/postgres.ts'
import { runBench, type BenchRun } from './support/run-bench.ts'

const db = usePostgres(migrateTasker)

const show = async (url: string, client?: pg.Client) => {
  const c = client ?? new pg.Client({ connectionString: url })
  if (!client) await c.connect()
  try {
    const { rows } = await c.query<{ statement: string; lock: string }>(`SELECT current_setting('statement_timeout') AS statement, current_setting('lock_timeout') AS lock`)
    return rows[0]!
  } finally {
    if (!client) await c.end()
  }
}

/** pg's process-wide defaults and the limits withClient takes, as they were before a test. */
let saved: { defaults: Pick<typeof pg.defaults, 'statement_timeout' | 'lock_timeout'>; limits: PgLimits }
beforeAll(() => {
  saved = { defaults: { statement_timeout: pg.defaults.statement_timeout, lock_timeout: pg.defaults.lock_timeout }, limits: processPgLimits() }
})
afterEach(() => {
  applyPgDefaults(saved.limits)
  Object.assign(pg.defaults, saved.defaults)
})

describe('a bench file', () => {
  let holder: pg.Client
  let run: BenchRun | undefined
  beforeAll(async () => {
    holder = new pg.Client({ connectionString: db.server.url })
    await holder.connect()
  })
  afterAll(async () => {
    await holder?.end()
    if (run) for (const dir of [run.resultsDir, run.tmpDir]) rmSync(dir, { recursive: true, force: true })
  })

  test('its own connections give up at BENCH_LOCK_TIMEOUT_MS when a table it reads is locked (setup file pg-defaults.ts)', async () => {
    // sql-functions reads the measured database on a plain pg.Client: only the process-wide
    // defaults bound its wait. Without them this run would hang until runBench gives up on it.
    await holder.query('BEGIN')
    await holder.query('LOCK TABLE tasker.tasks IN ACCESS EXCLUSIVE MODE')
    try {
      run = await runBench(['benchmarks/sql-functions.bench.ts'], {
        BENCH_PROFILE: 'smoke',
        DATABASE_URL: db.server.url,
        BENCH_ORCHESTRATOR: 'off',
        BENCH_TRACES: 'off',
        BENCH_LOCK_TIMEOUT_MS: '300',
        BENCH_BUDGET_SCALE: '1000',
      }, 120_000)
    } finally {
      await holder.query('ROLLBACK')
    }
    // The bench worker got as far as the bench file's own connection, and that gave up.
    expect(run.output, run.output.slice(-3000)).toContain('dataset database: postgres, read-only')
    expect(run.output).toMatch(/canceling statement due to lock timeout/)
    expect(run.code).not.toBe(0)
  }, 180_000)
})

describe('withClient', () => {
  const sockets = new Set<net.Socket>()
  let silent: net.Server
  beforeAll(async () => {
    silent = net.createServer((s) => void sockets.add(s))
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
  })
  afterAll(async () => {
    for (const s of sockets) s.destroy()
    await new Promise((r) => silent.close(r))
  })

  test('takes the process’s limits: statement and lock timeout', async () => {
    applyPgDefaults({ statementTimeoutMs: 7654, lockTimeoutMs: 321, connectTimeoutMs: 5_000, statementVariable: 'BENCH_STATEMENT_TIMEOUT_MS' })
    expect(await withClient(db.server.url, (c) => show(db.server.url, c))).toEqual({ statement: '7654ms', lock: '321ms' })
  })

  test('a server that never answers the connection: fails at the connect timeout, naming the purpose and the setting', async () => {
    applyPgDefaults({ statementTimeoutMs: 10_000, lockTimeoutMs: 300, connectTimeoutMs: 300, statementVariable: 'BENCH_STATEMENT_TIMEOUT_MS' })
    const port = (silent.address() as net.AddressInfo).port
    const error = await withClient(`postgres://u:p@127.0.0.1:${port}/target`, async () => 'connected', { purpose: 'the test’s session' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PgTimeoutError)
    expect((error as Error).message).toBe(`the test’s session: could not connect to PostgreSQL at 127.0.0.1:${port}/target within 300 ms (BENCH_CONNECT_TIMEOUT_MS)`)
  })

  test('an answer that never comes: fails at the client-side read timeout, naming the purpose, the statement and the setting', async () => {
    // a 1 s grace instead of the default 30 s: the same path, 29 s sooner
    applyPgDefaults({ statementTimeoutMs: 100, lockTimeoutMs: 300, connectTimeoutMs: 5_000, statementVariable: 'BENCH_STATEMENT_TIMEOUT_MS', readGraceMs: 1_000 })
    const error = await withClient(db.server.url, async (c) => {
      // The server-side limit lifted, as a server that stopped answering would not honour it.
      await c.query('SET statement_timeout = 0')
      await c.query('SELECT pg_sleep(120)')
    }, { purpose: 'the test’s sleeper' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PgTimeoutError)
    expect((error as Error).message).toMatch(/^the test’s sleeper: PostgreSQL at 127\.0\.0\.1:\d+\/postgres sent no answer within 1100 ms \(BENCH_STATEMENT_TIMEOUT_MS \+ 1 s\); statement: SELECT pg_sleep\(120\)$/)
  }, 60_000)
})

test('the client-side read timeout is the statement timeout plus 30 s unless the limits shorten the grace', () => {
  const limits: PgLimits = { statementTimeoutMs: 5_000, lockTimeoutMs: 300, connectTimeoutMs: 2_000, statementVariable: 'BENCH_STATEMENT_TIMEOUT_MS' }
  expect(pgLimitConfig(limits)).toEqual({ statement_timeout: 5_000, lock_timeout: 300, query_timeout: 35_000, connectionTimeoutMillis: 2_000 })
  expect(pgLimitConfig({ ...limits, readGraceMs: 1_000 }).query_timeout).toBe(6_000)
})
