/**
 * A PostgreSQL for the floor and peer baselines when the server under test may not be written
 * to (DATABASE_URL without BENCH_SEED=true): the suite's embedded server, with the same pgmq
 * source as an embedded run (PGMQ_SOURCE_DIR, else the pgmq-compatible SQL). Stopped by the run's
 * cleanup, also on Ctrl-C (the embedded provider registers it). Nothing is started when the baselines can use the server under test.
 */
import type { Settings } from '../../setup/config.ts'
import { providePostgres } from '../../setup/postgres/provide.ts'

export async function provideBaselineServer(settings: Settings, needed: { writable: boolean; orchestrator: boolean }, log: (line: string) => void): Promise<{ url: string; reason: string } | undefined> {
  // The baselines bench compares with an orchestrator's E2E: without one it skips.
  if (needed.writable || !needed.orchestrator) return undefined
  const reason = 'the server under test is not writable (set BENCH_SEED=true to run the baselines in scratch databases on it)'
  const server = await providePostgres(settings, { mode: 'embedded', reason }, log)
  // The embedded provider registers its own stop (and the removal of its directory) with the run's cleanup.
  log(`baselines (floor, peer): on an embedded PostgreSQL, because ${reason}`)
  return { url: server.url, reason }
}
