/**
 * Embedded PostgreSQL start-up: how long until a fresh throwaway server accepts connections.
 * Two phases, because they differ by an order of magnitude and only one repeats per run:
 *   initdb   creating the data directory (--no-sync)
 *   start    spawning the server until it is ready to accept connections
 * Each sample starts a server from scratch and stops it again (outside the timing).
 * Only meaningful for the embedded provider; skipped when the run's PostgreSQL is another kind.
 */
import { inject, test } from 'vitest'
import { startEmbeddedPostgres } from '../harness/main/postgres/embedded.ts'
import { recordSamples } from '../harness/bench/record.ts'

const run = inject('run')
// Each sample is a whole initdb (~1.5 s): two are enough to prove the bench works in smoke. Ten
// samples support no percentile above p(90), so fixtures/budgets.yaml budgets the start's max.
const SERVERS = run.profile === 'smoke' ? 2 : 10

test.skipIf(run.postgres.mode !== 'embedded')('embedded PostgreSQL from nothing to accepting connections', async ({ task }) => {
  const initdb: number[] = []
  const start: number[] = []
  for (let i = 0; i < SERVERS; i++) {
    const server = await startEmbeddedPostgres({ binDir: run.settings.PG_BIN_DIR })
    initdb.push(server.timings!.initdbMs!)
    start.push(server.timings!.startMs!)
    await server.stop()
  }
  recordSamples(task, 'initdb', initdb)
  recordSamples(task, 'start until accepting connections', start)
})
