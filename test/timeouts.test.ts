/**
 * No wait without a limit: a statement blocked on a lock held elsewhere fails within the lock
 * timeout with a message naming what it waited for (suite connections through connectPg, every
 * other connection of a bench process through the process-wide defaults, the orchestrator's
 * pool), a runaway statement fails at the statement timeout, and an API call to a server that
 * never answers fails with a clear error instead of hanging.
 */
import net from 'node:net'
import os from 'node:os'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { loadSettings } from '../harness/config/settings.ts'
import { connectPg } from '../harness/db/connect.ts'
import { applyPgDefaults, pgLimits, PgTimeoutError, type PgLimits } from '../harness/db/limits.ts'
import { createTaskerClient, TaskerApiTimeoutError } from '../harness/tasker/api-client.ts'
import { createPool, DEFAULT_DB_LIMITS, loadOrchestrationConfig } from '../orchestrator/index.ts'
import { usePostgres } from './support/postgres.ts'

const SHORT: PgLimits = { statementTimeoutMs: 10_000, lockTimeoutMs: 300, connectTimeoutMs: 5_000, statementVariable: 'BENCH_STATEMENT_TIMEOUT_MS' }
/** Far above every limit used here: a hang, not a slow machine, would cross it. */
const HANG_MS = 30_000

async function elapsed<T>(fn: () => Promise<T>): Promise<{ ms: number; error: unknown }> {
  const t0 = performance.now()
  try {
    await fn()
    return { ms: performance.now() - t0, error: undefined }
  } catch (error) {
    return { ms: performance.now() - t0, error }
  }
}

describe('PostgreSQL time limits', () => {
  const db = usePostgres(async (pool) => {
    await pool.query('CREATE TABLE lock_target (id int PRIMARY KEY, v int)')
    await pool.query('INSERT INTO lock_target VALUES (1, 0)')
  })
  let holder: pg.Client

  beforeAll(async () => {
    holder = new pg.Client({ connectionString: db.server.url })
    await holder.connect()
  })
  afterEach(async () => {
    await holder.query('ROLLBACK')
  })
  afterAll(async () => {
    await holder?.end()
  })

  test('the settings carry the limits (BENCH_LOCK_TIMEOUT_MS …), set-up work its own larger one', () => {
    const settings = loadSettings({ env: { BENCH_LOCK_TIMEOUT_MS: '250', BENCH_STATEMENT_TIMEOUT_MS: '5000' }, root: os.tmpdir() })
    expect(pgLimits(settings)).toMatchObject({ lockTimeoutMs: 250, statementTimeoutMs: 5000, statementVariable: 'BENCH_STATEMENT_TIMEOUT_MS' })
    const setup = pgLimits(loadSettings({ env: {}, root: os.tmpdir() }), 'setup')
    expect(setup.statementTimeoutMs).toBeGreaterThan(pgLimits(loadSettings({ env: {}, root: os.tmpdir() })).statementTimeoutMs)
    expect(setup.statementVariable).toBe('BENCH_SETUP_STATEMENT_TIMEOUT_MS')
  })

  test('a row locked by another session: the update fails at lock_timeout, naming the row, the table and the statement', async () => {
    await holder.query('BEGIN')
    await holder.query('SELECT * FROM lock_target WHERE id = 1 FOR UPDATE')
    const client = await connectPg(db.server.url, 'the test’s writer', SHORT)
    try {
      const { ms, error } = await elapsed(() => client.query('UPDATE lock_target SET v = v + 1 WHERE id = $1', [1]))
      expect(error).toBeInstanceOf(PgTimeoutError)
      expect(String((error as Error).message)).toMatch(
        /^the test’s writer: waited more than 300 ms for a lock \(while updating tuple \(\d+,\d+\) in relation "lock_target"\) at 127\.0\.0\.1:\d+\/\w+ held by another session, and gave up \(lock_timeout, BENCH_LOCK_TIMEOUT_MS\); statement: UPDATE lock_target SET v = v \+ 1 WHERE id = \$1\./,
      )
      expect(ms).toBeLessThan(HANG_MS)
    } finally {
      await client.end()
    }
  })

  test('a table locked by another session: any connection of a bench process fails at lock_timeout (process-wide defaults)', async () => {
    await holder.query('BEGIN')
    await holder.query('LOCK TABLE lock_target IN ACCESS EXCLUSIVE MODE')
    const saved = { statement_timeout: pg.defaults.statement_timeout, lock_timeout: pg.defaults.lock_timeout }
    applyPgDefaults(SHORT)
    const client = new pg.Client({ connectionString: db.server.url })
    try {
      await client.connect()
      const { ms, error } = await elapsed(() => client.query('SELECT count(*) FROM lock_target'))
      expect((error as { code?: string }).code).toBe('55P03')
      expect(String(error)).toMatch(/lock timeout/)
      expect(ms).toBeLessThan(HANG_MS)
    } finally {
      Object.assign(pg.defaults, saved)
      await client.end()
    }
  })

  test('a statement running past statement_timeout is cancelled, naming the setting', async () => {
    const client = await connectPg(db.server.url, 'the test’s sleeper', { ...SHORT, statementTimeoutMs: 300 })
    try {
      const { ms, error } = await elapsed(() => client.query('SELECT pg_sleep(60)'))
      expect(String((error as Error).message)).toMatch(/^the test’s sleeper: a statement ran longer than 300 ms .* \(statement_timeout, BENCH_STATEMENT_TIMEOUT_MS\); statement: SELECT pg_sleep\(60\)$/)
      expect(ms).toBeLessThan(HANG_MS)
    } finally {
      await client.end()
    }
  })

  test('the orchestrator’s pool has a lock timeout from its settings (TASKER_LOCK_TIMEOUT_MS)', async () => {
    const config = loadOrchestrationConfig({ DATABASE_URL: db.server.url, TASKER_LOCK_TIMEOUT_MS: '300' })
    expect(config.limits).toMatchObject({ lockTimeoutMs: 300, statementTimeoutMs: DEFAULT_DB_LIMITS.statementTimeoutMs })
    await holder.query('BEGIN')
    await holder.query('SELECT * FROM lock_target WHERE id = 1 FOR UPDATE')
    const pool = createPool(db.server.url, 2, 'test-orchestrator', config.limits)
    try {
      const { ms, error } = await elapsed(() => pool.query('UPDATE lock_target SET v = v + 1 WHERE id = 1'))
      expect((error as { code?: string }).code).toBe('55P03')
      expect(String(error)).toMatch(/canceling statement due to lock timeout/)
      expect(ms).toBeLessThan(HANG_MS)
    } finally {
      await pool.end()
    }
  })
})

describe('HTTP time limits', () => {
  const sockets = new Set<net.Socket>()
  let silent: net.Server
  let stalling: net.Server
  const listen = (server: net.Server) =>
    new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)))

  beforeAll(() => {
    // Accepts connections and never answers.
    silent = net.createServer((s) => void sockets.add(s))
    // Answers with headers, then never sends the body.
    stalling = net.createServer((s) => {
      sockets.add(s)
      s.once('data', () => s.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"sta'))
    })
  })
  afterAll(async () => {
    for (const s of sockets) s.destroy()
    await Promise.all([silent, stalling].map((server) => new Promise((r) => server.close(r))))
  })

  test('an API call to a server that never answers fails with the call, the server and the setting', async () => {
    const port = await listen(silent)
    const api = createTaskerClient(`http://127.0.0.1:${port}`, 1, { timeoutMs: 300 })
    try {
      const { ms, error } = await elapsed(() => api.health())
      expect(error).toBeInstanceOf(TaskerApiTimeoutError)
      expect((error as Error).message).toBe(`GET /health to the orchestrator at http://127.0.0.1:${port}: no answer within 300 ms (BENCH_HTTP_TIMEOUT_MS)`)
      expect(ms).toBeLessThan(HANG_MS)
    } finally {
      await api.close()
    }
  })

  test('an answer whose body stalls fails the same way', async () => {
    const port = await listen(stalling)
    const api = createTaskerClient(`http://127.0.0.1:${port}`, 1, { timeoutMs: 300 })
    try {
      const { error } = await elapsed(() => api.getTask('00000000-0000-7000-8000-000000000001'))
      expect((error as Error).message).toMatch(/^GET \/v1\/tasks\/00000000-0000-7000-8000-000000000001 to the orchestrator at http:\/\/127\.0\.0\.1:\d+: the answer's body stalled for 300 ms \(BENCH_HTTP_TIMEOUT_MS\)$/)
    } finally {
      await api.close()
    }
  })
})
