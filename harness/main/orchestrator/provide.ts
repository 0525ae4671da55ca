/**
 * Chooses the orchestrator under test (BENCH_ORCHESTRATOR) and starts or checks it.
 * `auto`: TASKER_ORCHESTRATION_URL set → external; else embedded (the reference orchestrator as
 * child processes against the run's PostgreSQL). `off` starts nothing (SQL and NOTIFY benches only).
 * An external orchestrator gets tasks only with BENCH_CREATE_TASKS=true (task-consent.ts).
 */
import path from 'node:path'
import { ConfigError, type Settings } from '../../config/settings.ts'
import { redactCredentials } from '../../config/credentials.ts'
import type { StartedPostgres } from '../postgres/types.ts'
import { startEmbeddedOrchestrator } from './embedded.ts'
import { checkOrchestrator } from './external.ts'
import { taskConsentLine, tasksRefused } from './task-consent.ts'
import { startComposeOrchestrator } from './compose.ts'
import { applyMigrations } from '../../../orchestrator/index.ts'
import { createScratchDatabase } from '../../db/scratch-database.ts'
import { withClient } from '../../db/with-client.ts'
import { onCleanup } from '../cleanup.ts'

export type OrchestratorMode = 'embedded' | 'compose' | 'external' | 'off'

export interface OrchestratorChoice {
  mode: OrchestratorMode
  reason: string
}

export interface ProvidedOrchestrator extends OrchestratorChoice {
  url: string | undefined
  templatesDir: string
  workers: number | undefined
  logDir: string | undefined
  /** the database the orchestrator works on, when the suite started it there */
  databaseUrl?: string
  /** why the benches get no URL: an external orchestrator without BENCH_CREATE_TASKS=true */
  tasksRefused?: string
}

export function chooseOrchestratorMode(settings: Settings): OrchestratorChoice {
  switch (settings.BENCH_ORCHESTRATOR) {
    case 'off':
      return { mode: 'off', reason: 'BENCH_ORCHESTRATOR=off' }
    case 'external':
      if (!settings.TASKER_ORCHESTRATION_URL) throw new ConfigError('BENCH_ORCHESTRATOR=external needs TASKER_ORCHESTRATION_URL (http://host:8080)')
      return { mode: 'external', reason: 'BENCH_ORCHESTRATOR=external' }
    case 'compose':
      return { mode: 'compose', reason: 'BENCH_ORCHESTRATOR=compose' }
    case 'embedded':
      return { mode: 'embedded', reason: 'BENCH_ORCHESTRATOR=embedded' }
    case 'auto':
      return settings.TASKER_ORCHESTRATION_URL
        ? { mode: 'external', reason: 'TASKER_ORCHESTRATION_URL is set' }
        : { mode: 'embedded', reason: 'no TASKER_ORCHESTRATION_URL' }
  }
}

export interface ProvideOrchestratorOptions {
  settings: Settings
  choice: OrchestratorChoice
  postgres: StartedPostgres
  /** names the scratch database an orchestrator of ours gets on a server the run did not start */
  runId: string
  resultsDir: string
  /** where the embedded orchestrator exports its spans (the trace receiver), if anywhere */
  otlpEndpoint?: string
  log: (line: string) => void
}

export async function provideOrchestrator({ settings, choice, postgres, runId, resultsDir, otlpEndpoint, log }: ProvideOrchestratorOptions): Promise<ProvidedOrchestrator> {
  const templatesDir = path.resolve(settings.root, settings.BENCH_TEMPLATES_DIR)
  const none = { url: undefined, templatesDir, workers: undefined, logDir: undefined }
  switch (choice.mode) {
    case 'off':
      return { ...choice, ...none }
    case 'external': {
      const url = settings.TASKER_ORCHESTRATION_URL!
      await checkOrchestrator(url)
      log(`orchestrator: external ${redactCredentials(url)} (${choice.reason})`)
      log(taskConsentLine(settings, url, templatesDir))
      // Without consent the benches get no URL to create tasks with: they skip, saying why.
      if (!settings.BENCH_CREATE_TASKS) return { ...choice, ...none, tasksRefused: tasksRefused(settings, url, templatesDir) }
      return { ...choice, ...none, url }
    }
    case 'compose': {
      refuseForeignDatabase(settings, postgres, 'compose')
      const databaseUrl = await orchestratorDatabase(postgres, runId, log)
      const logDir = path.join(resultsDir, 'logs')
      const orchestrators = settings.BENCH_ORCHESTRATORS
      const started = await startComposeOrchestrator({ databaseUrl, workers: settings.BENCH_WORKERS, orchestrators, logDir, templatesDir, otlpEndpoint, log })
      return { ...choice, url: started.url, templatesDir, workers: settings.BENCH_WORKERS, logDir, databaseUrl }
    }
    case 'embedded': {
      refuseForeignDatabase(settings, postgres, 'embedded')
      const databaseUrl = await orchestratorDatabase(postgres, runId, log)
      const logDir = path.join(resultsDir, 'logs')
      const stepDelayMs = settings.BENCH_WORKER_STEP_DELAY_MS
      const orchestrators = settings.BENCH_ORCHESTRATORS
      const extraStatementsPerStep = settings.BENCH_WORKER_EXTRA_STATEMENTS
      // One instance needs no database coordination (2 round trips fewer per result batch).
      const coordination = orchestrators === 1 ? 'process' : 'database'
      const started = await startEmbeddedOrchestrator({ databaseUrl, workers: settings.BENCH_WORKERS, orchestrators, coordination, logDir, otlpEndpoint, log, stepDelayMs, extraStatementsPerStep })
      const instances = orchestrators > 1 ? `${orchestrators} orchestration instances (round robin, coordinated in the database) and ` : ''
      log(`orchestrator: embedded at ${started.url} with ${instances}${settings.BENCH_WORKERS} worker(s) (${choice.reason}); logs in ${logDir}`)
      if (extraStatementsPerStep > 0) log(`orchestrator: experiment knob BENCH_WORKER_EXTRA_STATEMENTS=${extraStatementsPerStep}: every step runs ${extraStatementsPerStep} extra statement(s) after its handler`)
      if (stepDelayMs > 0) log(`orchestrator: experiment knob BENCH_WORKER_STEP_DELAY_MS=${stepDelayMs}: every step waits ${stepDelayMs} ms before its handler`)
      return { ...choice, url: started.url, templatesDir, workers: settings.BENCH_WORKERS, logDir, databaseUrl }
    }
  }
}

/**
 * The run's own database on a server it started; on someone else's server (BENCH_SEED=true) a
 * scratch database with the reference schema, dropped at the end: the deployment's database is
 * never migrated.
 */
async function orchestratorDatabase(postgres: StartedPostgres, runId: string, log: (line: string) => void): Promise<string> {
  if (postgres.owned) return postgres.url
  const scratch = await createScratchDatabase(postgres.url, runId, 'orchestrator')
  onCleanup(`scratch database ${scratch.name}`, () => scratch.drop())
  await withClient(scratch.url, (client) => applyMigrations(client))
  log(`orchestrator database: scratch database ${scratch.name} on the external server (BENCH_SEED=true), dropped at the end`)
  return scratch.url
}

/** Our orchestrators write tasks into the database they are given: never into someone else's. */
function refuseForeignDatabase(settings: Settings, postgres: StartedPostgres, mode: 'embedded' | 'compose'): void {
  if (postgres.owned || settings.BENCH_SEED) return
  throw new ConfigError(
    `the ${mode} orchestrator would write to the external database at DATABASE_URL: set TASKER_ORCHESTRATION_URL to measure your deployment, BENCH_ORCHESTRATOR=off for the SQL and NOTIFY benches only, or BENCH_SEED=true to let it run in a scratch database on that server`,
  )
}
