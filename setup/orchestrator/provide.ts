/**
 * Chooses the orchestrator under test (BENCH_ORCHESTRATOR) and starts or checks it.
 * `auto`: TASKER_ORCHESTRATION_URL set → external; else embedded (the reference orchestrator as
 * child processes against the run's PostgreSQL). `off` starts nothing (SQL and NOTIFY benches only).
 */
import path from 'node:path'
import { ConfigError, type Settings } from '../config.ts'
import type { StartedPostgres } from '../postgres/types.ts'
import { startEmbeddedOrchestrator } from './embedded.ts'
import { checkOrchestrator } from './external.ts'
import { startComposeOrchestrator } from './compose.ts'

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
  resultsDir: string
  /** where the embedded orchestrator exports its spans (the trace receiver), if anywhere */
  otlpEndpoint?: string
  log: (line: string) => void
}

export async function provideOrchestrator({ settings, choice, postgres, resultsDir, otlpEndpoint, log }: ProvideOrchestratorOptions): Promise<ProvidedOrchestrator> {
  const templatesDir = path.resolve(settings.root, settings.BENCH_TEMPLATES_DIR)
  const none = { url: undefined, templatesDir, workers: undefined, logDir: undefined }
  switch (choice.mode) {
    case 'off':
      return { ...choice, ...none }
    case 'external': {
      const url = settings.TASKER_ORCHESTRATION_URL!
      await checkOrchestrator(url)
      log(`orchestrator: external ${url} (${choice.reason})`)
      return { ...choice, ...none, url }
    }
    case 'compose': {
      refuseForeignDatabase(settings, postgres, 'compose')
      const logDir = path.join(resultsDir, 'logs')
      const started = await startComposeOrchestrator({ databaseUrl: postgres.url, workers: settings.BENCH_WORKERS, logDir, templatesDir, otlpEndpoint, log })
      return { ...choice, url: started.url, templatesDir, workers: settings.BENCH_WORKERS, logDir }
    }
    case 'embedded': {
      refuseForeignDatabase(settings, postgres, 'embedded')
      const logDir = path.join(resultsDir, 'logs')
      const stepDelayMs = settings.BENCH_WORKER_STEP_DELAY_MS
      const started = await startEmbeddedOrchestrator({ databaseUrl: postgres.url, workers: settings.BENCH_WORKERS, logDir, otlpEndpoint, log, stepDelayMs })
      log(`orchestrator: embedded at ${started.url} with ${settings.BENCH_WORKERS} worker(s) (${choice.reason}); logs in ${logDir}`)
      if (stepDelayMs > 0) log(`orchestrator: experiment knob BENCH_WORKER_STEP_DELAY_MS=${stepDelayMs}: every step waits ${stepDelayMs} ms before its handler`)
      return { ...choice, url: started.url, templatesDir, workers: settings.BENCH_WORKERS, logDir }
    }
  }
}

/** Our orchestrators write tasks into the database they are given: never into someone else's. */
function refuseForeignDatabase(settings: Settings, postgres: StartedPostgres, mode: 'embedded' | 'compose'): void {
  if (postgres.owned || settings.BENCH_SEED) return
  throw new ConfigError(
    `the ${mode} orchestrator would write to the external database at DATABASE_URL: set TASKER_ORCHESTRATION_URL to measure your deployment, BENCH_ORCHESTRATOR=off for the SQL and NOTIFY benches only, or BENCH_SEED=true to allow it`,
  )
}
