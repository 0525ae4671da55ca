/**
 * Makes the database ready for the benches. A server the run owns gets pgmq (extension or the
 * project's compatible SQL) and the reference orchestrator's tasker schema. A database the run
 * did not create is only inspected, unless BENCH_SEED=true allows installing into it.
 */
import pg from 'pg'
import type { Settings } from '../config.ts'
import type { StartedPostgres } from '../postgres/types.ts'
import { applyMigrations } from '../../fixtures/orchestrator/src/db/migrate.ts'
import { detectPgmq } from '../../fixtures/pgmq/install.ts'

export interface PreparedDatabase {
  serverVersion: string
  pgmq: { kind: string; version: string }
}

const REQUIRED_FUNCTIONS = ['pgmq_send_with_notify', 'get_step_readiness_status', 'get_task_execution_context', 'get_next_ready_tasks']

export async function prepareDatabase(server: StartedPostgres, settings: Settings, log: (line: string) => void): Promise<PreparedDatabase> {
  const client = new pg.Client({ connectionString: server.url })
  await client.connect()
  try {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version')
    const serverVersion = rows[0]!.server_version
    if (server.owned || settings.BENCH_SEED) {
      const t0 = performance.now()
      const { pgmq, applied } = await applyMigrations(client)
      log(`schema ready in ${(performance.now() - t0).toFixed(0)} ms (${applied.length} migration(s) applied)`)
      return { serverVersion, pgmq }
    }
    const pgmq = await detectPgmq(client)
    const missing = await missingFunctions(client)
    if (!pgmq || missing.length > 0) {
      const what = [!pgmq && 'pgmq', ...missing].filter(Boolean).join(', ')
      throw new Error(
        `the database at DATABASE_URL lacks ${what}. Point DATABASE_URL at a Tasker database, ` +
          `or set BENCH_SEED=true to let the suite install its own pgmq-compatible layer and tasker schema into it.`,
      )
    }
    return { serverVersion, pgmq }
  } finally {
    await client.end()
  }
}

async function missingFunctions(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ proname: string }>('SELECT DISTINCT proname FROM pg_proc WHERE proname = ANY($1)', [REQUIRED_FUNCTIONS])
  const found = new Set(rows.map((r) => r.proname))
  return REQUIRED_FUNCTIONS.filter((f) => !found.has(f))
}
