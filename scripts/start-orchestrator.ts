/**
 * Starts an embedded PostgreSQL and the reference orchestrator with 2 workers, prints the URL and
 * an example request, and runs until Ctrl-C, which stops everything it started.
 *
 *   node_modules/.bin/node scripts/start-orchestrator.ts [--workers N]
 */
import { mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { onCleanup, runCleanups } from '../harness/main/cleanup.ts'
import { startEmbeddedOrchestrator } from '../harness/main/orchestrator/embedded.ts'
import { startEmbeddedPostgres } from '../harness/main/postgres/embedded.ts'
import { redactUrl } from '../harness/config/settings.ts'

const log = (line: string) => console.log(`[start-orchestrator] ${line}`)

function workersArg(): number {
  const i = process.argv.indexOf('--workers')
  if (i < 0) return 2
  const n = Number(process.argv[i + 1])
  if (!Number.isInteger(n) || n < 1 || n > 32) throw new Error(`--workers takes a whole number from 1 to 32 (got ${process.argv[i + 1]})`)
  return n
}

async function main(): Promise<void> {
  const workers = workersArg()
  const postgres = await startEmbeddedPostgres({ log, binDir: process.env.PG_BIN_DIR || undefined })
  onCleanup('embedded PostgreSQL', () => postgres.stop())
  const logDir = mkdtempSync(path.join(os.tmpdir(), 'tasker-orchestrator-logs-'))
  const orchestrator = await startEmbeddedOrchestrator({
    databaseUrl: postgres.url,
    workers,
    logDir,
    otlpEndpoint: process.env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined,
    log,
  })
  console.log(`
Reference orchestrator at ${orchestrator.url} with ${workers} worker(s)
  database: ${redactUrl(postgres.url)}
            psql -h ${postgres.socketDir} -p ${postgres.port} -U postgres  (unix socket, no password)
  logs:     ${logDir}

Try:
  curl -s -X POST ${orchestrator.url}/v1/tasks -H 'content-type: application/json' -d '{
    "name": "mathematical_sequence", "namespace": "linear_workflow", "version": "1.0.0",
    "context": {"even_number": 6, "_run": "'$(date +%s%N)'"},
    "initiator": "me", "source_system": "curl", "reason": "trying it out"}'
  curl -s ${orchestrator.url}/v1/tasks/<task_uuid>

Ctrl-C stops everything.`)
}

main().catch(async (err) => {
  console.error(`[start-orchestrator] ${(err as Error).message}`)
  await runCleanups()
  process.exit(1)
})
