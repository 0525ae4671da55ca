/**
 * A PostgreSQL for the floor and peer baselines when the server under test may not be written
 * to (DATABASE_URL without BENCH_SEED=true): the suite's embedded server, with pgmq as an embedded
 * run has it (the extension from PGMQ_SOURCE_DIR, else the pgmq-compatible SQL). The embedded
 * provider registers its stop (and the removal of its directory) with the run's cleanup, so
 * Ctrl-C stops it too. Nothing is started when the baselines can use the server under test, or
 * when there is no orchestrator to compare with (the baselines bench then skips).
 */
import type { Settings } from '../config/settings.ts'
import { providePostgres } from './postgres/provide.ts'
import { withClient } from '../db/with-client.ts'
import { installPgmq } from '../../orchestrator/index.ts'

export interface BaselineServer {
  url: string
  reason: string
  /** `<kind> <version>` of its pgmq */
  pgmq: string
}

export async function provideBaselineServer(settings: Settings, needed: { writable: boolean; orchestrator: boolean }, log: (line: string) => void): Promise<BaselineServer | undefined> {
  if (needed.writable || !needed.orchestrator) return undefined
  const reason = 'the server under test is not writable (set BENCH_SEED=true to run the baselines in scratch databases on it)'
  const server = await providePostgres(settings, { mode: 'embedded', reason }, log)
  const pgmq = await withClient(server.url, installPgmq)
  log(`baselines (floor, peer): on an embedded PostgreSQL with pgmq ${pgmq.kind} ${pgmq.version}, because ${reason}`)
  return { url: server.url, reason, pgmq: `${pgmq.kind} ${pgmq.version}` }
}
