/**
 * Where the baselines run: always in a database this run created.
 * - Writes allowed on the server under test (the run owns it, or BENCH_SEED=true): a scratch
 *   database per baseline on that server (openBenchDatabase: a copy of the measured database's
 *   schema, dropped at the end), so floor, peer, minimal chain and E2E share one PostgreSQL, and the floor runs
 *   on the same pgmq — the extension or the suite's pgmq-compatible SQL — as the system under test.
 * - Writes not allowed: the database of the suite's own embedded server, started by the global
 *   setup for this case only (RunInfo.baselineServer, with pgmq installed), and the report says so.
 */
import { openBenchDatabase } from '../database/bench-database.ts'
import type { RunInfo } from '../../results/run-info.ts'

export interface BaselineDatabase {
  url: string
  /** one line: which database on which server, and why there */
  reason: string
  /** which pgmq the database has */
  pgmq: string
  server: 'server under test' | 'embedded server'
  close(): Promise<void>
}

export async function openBaselineDatabase(run: RunInfo, purpose: 'floor' | 'peer' | 'minimal', log: (line: string) => void): Promise<BaselineDatabase> {
  if (run.writable) {
    const db = await openBenchDatabase(run, { purpose, readOnly: false, log })
    if ('skip' in db) throw new Error(`${purpose}: ${db.skip}`)
    return { url: db.url, reason: db.reason, server: 'server under test', pgmq: `${run.pgmq.kind} ${run.pgmq.version}`, close: () => db.close() }
  }
  if (!run.baselineServer) throw new Error(`${purpose}: no database to run in (the server under test is not writable and the global setup started no baseline server)`)
  return {
    url: run.baselineServer.url,
    reason: `the suite's embedded PostgreSQL, not the server under test: ${run.baselineServer.reason}`,
    server: 'embedded server',
    pgmq: run.baselineServer.pgmq,
    close: async () => {}, // the server goes with the run
  }
}
