/**
 * Where the baselines run: always in a database this run creates (and drops).
 * - Writes allowed on the server under test (the run owns it, or BENCH_SEED=true): scratch
 *   databases on that server, so floor, peer and E2E share one PostgreSQL. The floor's is a copy
 *   of the measured database's schema (openBenchDatabase), so it runs on the same pgmq — the
 *   extension or the suite's pgmq-compatible SQL — as the system under test; the peer's is empty
 *   but for graphile-worker's schema.
 * - Writes not allowed: scratch databases on the suite's own embedded server (started by the
 *   global setup for this case only, RunInfo.baselineServer), and the report says so.
 */
import { redactUrl } from '../../../setup/config.ts'
import { openBenchDatabase } from '../../../setup/database/bench-database.ts'
import { createScratchDatabase, databaseName } from '../../../setup/database/scratch-database.ts'
import { detectPgmq, installPgmq } from '../../../fixtures/pgmq/install.ts'
import { withClient } from '../../../setup/pg/with-client.ts'
import type { RunInfo } from '../../../setup/results/run-info.ts'

export interface BaselineDatabase {
  url: string
  /** one line: which database on which server, and why there */
  reason: string
  /** which pgmq the database has (floor only) */
  pgmq?: string
  /** same server as the system under test, or the suite's embedded one */
  server: 'server under test' | 'embedded'
  close(): Promise<void>
}

export async function openBaselineDatabase(run: RunInfo, purpose: 'floor' | 'peer', log: (line: string) => void): Promise<BaselineDatabase> {
  const needsPgmq = purpose === 'floor'
  if (run.writable) {
    if (needsPgmq) {
      const db = await openBenchDatabase(run, { purpose, readOnly: false, log })
      if ('skip' in db) throw new Error(`${purpose}: ${db.skip}`)
      try {
        return { url: db.url, reason: db.reason, server: 'server under test', pgmq: await pgmqOf(db.url), close: () => db.close() }
      } catch (err) {
        await db.close().catch(() => {})
        throw err
      }
    }
    const scratch = await createScratchDatabase(run.targetDatabaseUrl, run.runId, purpose)
    return { url: scratch.url, reason: `scratch database ${scratch.name} on the server of ${redactUrl(run.targetDatabaseUrl)}; dropped at the end`, server: 'server under test', close: () => scratch.drop() }
  }
  if (!run.baselineServer) throw new Error(`${purpose}: no database to run in (the target is not writable and the global setup started no baseline server)`)
  const scratch = await createScratchDatabase(run.baselineServer.url, run.runId, purpose)
  try {
    const pgmq = needsPgmq ? await withClient(scratch.url, async (c) => { const p = await installPgmq(c); return `${p.kind} ${p.version}` }) : undefined
    return {
      url: scratch.url,
      reason: `scratch database ${scratch.name} on the suite's embedded server, not on the server under test: ${run.baselineServer.reason}`,
      server: 'embedded',
      ...(pgmq ? { pgmq } : {}),
      close: () => scratch.drop(),
    }
  } catch (err) {
    await scratch.drop().catch(() => {})
    throw err
  }
}

async function pgmqOf(url: string): Promise<string> {
  const info = await withClient(url, detectPgmq)
  if (!info) throw new Error(`floor: the scratch database ${databaseName(url)} has no pgmq (the measured database's was not copied)`)
  return `${info.kind} ${info.version}`
}
