/**
 * Makes the run's database ready for the benches, or checks that it is.
 * - A server the run started: pgmq (extension or the project's compatible SQL) and the reference
 *   orchestrator's tasker schema are installed into it.
 * - A database the run did not create (DATABASE_URL): never changed, whatever BENCH_SEED says;
 *   only inspected. Benches that write do so in scratch databases (bench-database.ts).
 * Either way the Tasker functions it defines are found and fingerprinted for the results.
 */
import type { StartedPostgres } from '../postgres/types.ts'
import { applyMigrations, detectPgmq } from '../../../orchestrator/index.ts'
import { connectPg } from '../../db/connect.ts'
import { databaseName } from '../../db/database-url.ts'
import { findTaskerFunctions, missingFunctions, type TaskerFunctionName, type TaskerFunctions } from '../../db/tasker-functions.ts'

export interface PreparedDatabase {
  serverVersion: string
  pgmq: { kind: string; version: string }
  functions: TaskerFunctions
}

/** Without these the SQL and NOTIFY benches have nothing to measure. */
const REQUIRED: TaskerFunctionName[] = ['pgmq_send_with_notify', 'get_step_readiness_status', 'get_task_execution_context', 'get_next_ready_tasks']

export async function prepareDatabase(server: StartedPostgres, log: (line: string) => void): Promise<PreparedDatabase> {
  const client = await connectPg(server.url, 'database preparation')
  try {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version')
    const serverVersion = rows[0]!.server_version
    if (server.owned) {
      const t0 = performance.now()
      const { pgmq, applied } = await applyMigrations(client)
      log(`schema ready in ${(performance.now() - t0).toFixed(0)} ms (${applied.length} migration(s) applied)`)
      return { serverVersion, pgmq, functions: await findTaskerFunctions(client) }
    }
    const pgmq = await detectPgmq(client)
    const functions = await findTaskerFunctions(client)
    const missing = missingFunctions(functions, REQUIRED)
    if (!pgmq || missing.length > 0) {
      const what = [!pgmq && 'pgmq', ...missing].filter(Boolean).join(', ')
      throw new Error(
        `the database ${databaseName(server.url)} at DATABASE_URL lacks ${what}: point DATABASE_URL at a Tasker database ` +
          `(tasker-core's migrations and the pgmq extension), or unset it to measure the reference orchestrator on an embedded server. ` +
          `The suite never installs anything into a database it did not create.`,
      )
    }
    return { serverVersion, pgmq, functions }
  } finally {
    await client.end()
  }
}
