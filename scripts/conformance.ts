/**
 * npm run conformance: tasker-core's own SQL functions and notify wrappers next to the reference
 * orchestrator's, on one PostgreSQL 18 server with the real pgmq extension, in one run.
 *
 *   PGMQ_SOURCE_DIR=~/src/pgmq TASKER_CORE_DIR=~/src/tasker-core npm run conformance
 *
 * 1. Starts an embedded PostgreSQL 18 with pgmq installed from the checkout (a private extension
 *    directory, PostgreSQL 18's extension_control_path; the server's own files stay untouched).
 * 2. Builds database `tasker_core` the way tasker-core does (its migrations in order) and database
 *    `reference` with the reference orchestrator's migrations (on the same real pgmq).
 * 3. Runs the SQL-function, SQL-contract and event-propagation benches against each, as external databases with
 *    BENCH_SEED=true: each bench copies its target's schema into a scratch database and measures
 *    the target's own functions (BENCH_SQL_SCALES, BENCH_PROFILE etc. pass through).
 *    Checks that each measured database is exactly as before (catalog hash and row counts).
 * 4. Prints one side-by-side table (also in <results>/conformance/summary.md) and beside it the
 *    findings: each function's scaling order and the history series, whether both offer the same
 *    candidate tasks, the dominant plan node, and the contract probes' verdicts with evidence.
 * Everything it started is stopped at the end, also on Ctrl-C.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { onCleanup, runCleanups } from '../harness/main/cleanup.ts'
import { runBenchChild, logTail } from '../harness/offline/compare/bench-child.ts'
import { applyTaskerCoreMigrations, taskerCoreMigrations } from '../harness/main/conformance/tasker-core-migrations.ts'
import { sideBySide, type Side } from '../harness/offline/conformance/side-by-side.ts'
import { withDatabase } from '../harness/db/database-url.ts'
import { snapshotDatabase } from '../harness/main/conformance/catalog-snapshot.ts'
import { withClient } from '../harness/db/with-client.ts'
import { startEmbeddedPostgres } from '../harness/main/postgres/embedded.ts'
import { preparePgmqFromSource } from '../harness/main/postgres/pgmq-from-source.ts'
import { readResultsFile } from '../harness/results/read.ts'
import { readFindings } from '../harness/results/findings.ts'
import { applyMigrations } from '../orchestrator/index.ts'

const BENCHES = ['benchmarks/sql-functions.bench.ts', 'benchmarks/sql-contract.bench.ts', 'benchmarks/event-propagation.bench.ts']
const ROOT = path.resolve(import.meta.dirname, '..')
const RUN_TIMEOUT_MS = 90 * 60_000
const log = (line: string) => console.log(`[conformance] ${line}`)

function required(name: string): string {
  const value = process.env[name]
  if (!value) throw new Error(`${name} is not set: it names a local checkout (see docs/deployments.md, "Measure tasker-core")`)
  return value
}

async function main(): Promise<void> {
  const pgmqSource = required('PGMQ_SOURCE_DIR')
  const migrations = taskerCoreMigrations(required('TASKER_CORE_DIR'))
  const resultsRoot = path.resolve(ROOT, process.env.BENCH_RESULTS_DIR || 'results', 'conformance')
  mkdirSync(resultsRoot, { recursive: true })

  const pgmq = preparePgmqFromSource(pgmqSource)
  const server = await startEmbeddedPostgres({ settings: pgmq.settings, binDir: process.env.PG_BIN_DIR || undefined, log })
  onCleanup('embedded PostgreSQL', () => server.stop())
  log(`PostgreSQL ${server.serverVersion} with pgmq ${pgmq.version} from ${pgmqSource}`)

  const databases = { reference: withDatabase(server.url, 'reference'), 'tasker-core': withDatabase(server.url, 'tasker_core') }
  await withClient(server.url, async (c) => {
    await c.query('CREATE DATABASE reference')
    await c.query('CREATE DATABASE tasker_core')
  })
  await withClient(databases['tasker-core'], (c) => applyTaskerCoreMigrations(c, migrations, log))
  await withClient(databases.reference, async (c) => {
    const { pgmq: installed } = await applyMigrations(c)
    if (installed.kind !== 'extension') throw new Error(`the reference schema got pgmq ${installed.kind}, not the extension from ${pgmqSource}`)
  })

  const sides: Side[] = []
  for (const [label, url] of Object.entries(databases)) {
    log(`${label}: running ${BENCHES.join(', ')} (log in ${path.join(resultsRoot, label, 'run.log')})`)
    const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: url, BENCH_SEED: 'true', BENCH_ORCHESTRATOR: 'off', BENCH_POSTGRES: 'external' }
    delete env.TASKER_ORCHESTRATION_URL
    const before = await withClient(url, snapshotDatabase)
    const result = await runBenchChild({
      cwd: ROOT,
      args: BENCHES,
      resultsDir: path.join(resultsRoot, label),
      logFile: path.join(resultsRoot, label, 'run.log'),
      timeoutMs: RUN_TIMEOUT_MS,
      env,
    })
    if (!result.latest) throw new Error(`${label}: the benches wrote no results (exit ${result.code}):\n${logTail(result.logFile)}`)
    if (result.code !== 0) log(`${label}: vitest exited ${result.code} (a budget may have failed); the results are compared all the same`)
    const after = await withClient(url, snapshotDatabase)
    if (JSON.stringify(after) !== JSON.stringify(before)) throw new Error(`${label}: the run changed the measured database (catalog or row counts differ)`)
    log(`${label}: the measured database is exactly as before (catalog ${after.hash.slice(0, 8)}, ${Object.keys(after.rows).length} tables, rows unchanged)`)
    sides.push({ label, doc: readResultsFile(result.latest), findings: readFindings(path.join(resultsRoot, label)) })
  }

  const table = sideBySide(sides[0]!, sides[1]!)
  writeFileSync(path.join(resultsRoot, 'summary.md'), `# Conformance: reference vs tasker-core, one server\n\n${table}\n`)
  console.log(`\n${table}\n\n(also in ${path.join(resultsRoot, 'summary.md')})`)
}

await main()
  .catch((err: Error) => {
    console.error(`[conformance] ${err.message}`)
    process.exitCode = 1
  })
  .finally(() => runCleanups())
