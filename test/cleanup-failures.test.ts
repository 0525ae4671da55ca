/**
 * The cleanup of a run's scratch databases (issue 21 §7), against a real server: a database it
 * cannot drop does not stop it, and what is left is named with the run and the cause; the
 * forced-exit drop (a child process) reports a child that fails or runs out of time; and a CREATE
 * DATABASE still running when the cleanup starts is undone, not left behind.
 *
 * No race is won by luck: the CREATE is held on a lock this test takes (renaming template1 in an
 * open transaction, which every CREATE DATABASE from template1 waits for), and released only
 * after the cleanup has run.
 */
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import pg from 'pg'
import { createScratchDatabase, dropRunScratchDatabases, newRunId } from '../harness/db/scratch-database.ts'
import { dropRunScratchDatabasesSync } from '../harness/main/database/drop-scratch-databases.ts'
import { usePostgres } from './support/postgres.ts'

const db = usePostgres()
const runDatabases = async (runId: string) =>
  (await db.pool.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1`, [`tasker_bench_${runId}_`])).rows.map((r) => r.datname)

/** Polls (bounded) until `check` holds; the states it waits for are held still by the test. */
async function until(what: string, check: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms / 1000} s: ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe('dropping the run’s scratch databases', () => {
  test('one that cannot be dropped: the others still are, and the error names the run, the server and what is left with its cause', async () => {
    const runId = newRunId()
    for (const purpose of ['a', 'b', 'c']) await createScratchDatabase(db.server.url, runId, purpose)
    // A template database cannot be dropped (not even WITH (FORCE)).
    await db.pool.query(`ALTER DATABASE tasker_bench_${runId}_b IS_TEMPLATE true`)
    try {
      const failure = await dropRunScratchDatabases(db.server.url, runId).then(
        () => undefined,
        (err: Error) => err.message,
      )
      const server = new URL(db.server.url)
      expect(failure).toBe(
        `run ${runId} on postgres://${server.username}:***@${server.host}${server.pathname}: left tasker_bench_${runId}_b (cannot drop a template database); ` +
          `dropped tasker_bench_${runId}_a, tasker_bench_${runId}_c; drop what is left yourself (the databases named tasker_bench_${runId}_*)`,
      )
      expect(await runDatabases(runId)).toEqual([`tasker_bench_${runId}_b`])
    } finally {
      await db.pool.query(`ALTER DATABASE tasker_bench_${runId}_b IS_TEMPLATE false`)
      await db.pool.query(`DROP DATABASE IF EXISTS tasker_bench_${runId}_b`)
    }
  })

  test('a CREATE DATABASE still running when the cleanup starts is undone, and nothing of the run is left', async () => {
    const runId = newRunId()
    const name = `tasker_bench_${runId}_inflight`
    const holder = new pg.Client({ connectionString: db.server.url })
    await holder.connect()
    let creating: Promise<unknown> | undefined
    try {
      await holder.query('BEGIN')
      await holder.query(`ALTER DATABASE template1 RENAME TO tasker_bench_held_template`)
      creating = createScratchDatabase(db.server.url, runId, 'inflight').then(
        () => 'created',
        (err: Error) => err.message,
      )
      await until(`the CREATE DATABASE ${name} waits for the test's lock`, async () => {
        const { rows } = await db.pool.query(`SELECT 1 FROM pg_stat_activity WHERE query LIKE $1 AND wait_event_type = 'Lock'`, [`CREATE DATABASE ${name}%`])
        return rows.length > 0
      })
      expect(await dropRunScratchDatabases(db.server.url, runId)).toEqual([])
    } finally {
      await holder.query('ROLLBACK').catch(() => {})
      await holder.end()
    }
    // The CREATE can go on now that the lock is gone, if it was still there to go on.
    expect(await creating).toMatch(/terminat/)
    expect(await runDatabases(runId)).toEqual([])
  })
})

describe('the forced-exit drop (a child process)', () => {
  let silent: net.Server
  let silentPort = 0
  let closedPort = 0
  const sockets: net.Socket[] = []
  beforeAll(async () => {
    const listen = (server: net.Server) => new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as net.AddressInfo).port)))
    // Accepts connections and never answers: a server that hangs.
    silent = net.createServer((s) => sockets.push(s))
    silentPort = await listen(silent)
    const closed = net.createServer()
    closedPort = await listen(closed)
    await new Promise((r) => closed.close(r))
  })
  afterAll(async () => {
    for (const s of sockets) s.destroy()
    await new Promise((r) => silent.close(r))
  })

  test('drops what the run left and says so', async () => {
    const runId = newRunId()
    await createScratchDatabase(db.server.url, runId, 'left')
    const outcome = dropRunScratchDatabasesSync(db.server.url, runId)
    expect(outcome).toEqual({ ok: true, lines: [`[tasker-bench] dropped scratch database(s) left by run ${runId}: tasker_bench_${runId}_left`] })
    expect(await runDatabases(runId)).toEqual([])
  })

  test('a child that fails is reported with the run, the server (no password) and what to do', () => {
    const runId = newRunId()
    const outcome = dropRunScratchDatabasesSync(`postgres://bench:Sekr3t@127.0.0.1:${closedPort}/postgres`, runId)
    expect(outcome.ok).toBe(false)
    expect(outcome.lines.join('\n')).not.toContain('Sekr3t')
    expect(outcome.lines[0]).toMatch(new RegExp(`^\\[tasker-bench\\] scratch databases: run ${runId} on postgres://bench:\\*\\*\\*@127\\.0\\.0\\.1:${closedPort}/postgres: left whatever it had, as the cleanup could not finish \\(.*ECONNREFUSED.*\\)`))
    expect(outcome.lines.at(-1)).toBe(
      `[tasker-bench] scratch databases of run ${runId} on postgres://bench:***@127.0.0.1:${closedPort}/postgres: the drop failed (exit 1); drop what is left yourself (the databases named tasker_bench_${runId}_*)`,
    )
  })

  test('a child that runs out of time is killed and reported', () => {
    const runId = newRunId()
    // The silent server never answers, so the child cannot finish before its time is up.
    const outcome = dropRunScratchDatabasesSync(`postgres://bench:Sekr3t@127.0.0.1:${silentPort}/postgres`, runId, { timeoutMs: 2_000 })
    expect(outcome.ok).toBe(false)
    expect(outcome.lines.at(-1)).toBe(
      `[tasker-bench] scratch databases of run ${runId} on postgres://bench:***@127.0.0.1:${silentPort}/postgres: the drop did not finish within 2 s (its process was killed); drop what is left yourself (the databases named tasker_bench_${runId}_*)`,
    )
  })
})
