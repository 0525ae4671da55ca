/**
 * Where the baselines run when the server under test may not be written to: the suite's own
 * embedded PostgreSQL (harness/main/baseline-server.ts), with pgmq, and the bench's database
 * choice (harness/bench/baselines/databases.ts) says so; with writes allowed, nothing is started.
 */
import { afterAll, describe, expect, test } from 'vitest'
import { runCleanups } from '../harness/main/cleanup.ts'
import { loadSettings } from '../harness/config/settings.ts'
import { withClient } from '../harness/db/with-client.ts'
import type { RunInfo } from '../harness/results/run-info.ts'
import { provideBaselineServer } from '../harness/main/baseline-server.ts'
import { openBaselineDatabase } from '../harness/bench/baselines/databases.ts'

afterAll(() => runCleanups(), 60_000)

describe('the baseline server', () => {
  const settings = loadSettings({ env: { PG_BIN_DIR: process.env.PG_BIN_DIR ?? '' } })

  test('is not started when the baselines may use the server under test, or when there is no orchestrator', async () => {
    expect(await provideBaselineServer(settings, { writable: true, orchestrator: true }, () => {})).toBeUndefined()
    expect(await provideBaselineServer(settings, { writable: false, orchestrator: false }, () => {})).toBeUndefined()
  })

  test('a read-only target: an embedded server with pgmq, named as such by the database choice', async () => {
    const lines: string[] = []
    const server = await provideBaselineServer(settings, { writable: false, orchestrator: true }, (l) => lines.push(l))
    expect(server).toBeDefined()
    expect(lines.join('\n')).toMatch(/baselines \(floor, peer\): on an embedded PostgreSQL with pgmq .* not writable/)
    const read = await withClient(server!.url, async (c) => {
      await c.query(`SELECT pgmq.create('probe')`)
      return (await c.query(`SELECT * FROM pgmq.read('probe', 1, 1)`)).rows
    })
    expect(read).toEqual([])
    const run = { writable: false, baselineServer: server } as unknown as RunInfo
    const db = await openBaselineDatabase(run, 'floor', () => {})
    expect(db.server).toBe('embedded server')
    expect(db.url).toBe(server!.url)
    expect(db.reason).toMatch(/not the server under test: the server under test is not writable \(set BENCH_SEED=true/)
  }, 120_000)

  test('no baseline server and no writes: a one-line error naming both', async () => {
    await expect(openBaselineDatabase({ writable: false } as unknown as RunInfo, 'peer', () => {})).rejects.toThrow(/peer: no database to run in \(the server under test is not writable/)
  })
})
