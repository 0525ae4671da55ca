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

export interface ProvidedOrchestrator {
  mode: 'embedded' | 'compose' | 'external' | 'off'
  reason: string
  url: string | undefined
  templatesDir: string
  workers: number | undefined
  logDir: string | undefined
}

export async function provideOrchestrator(
  settings: Settings,
  postgres: StartedPostgres,
  resultsDir: string,
  log: (line: string) => void,
): Promise<ProvidedOrchestrator> {
  const templatesDir = path.resolve(settings.root, settings.BENCH_TEMPLATES_DIR)
  const mode = settings.BENCH_ORCHESTRATOR
  if (mode === 'off') return { mode, reason: 'BENCH_ORCHESTRATOR=off', url: undefined, templatesDir, workers: undefined, logDir: undefined }

  if (mode === 'external' || (mode === 'auto' && settings.TASKER_ORCHESTRATION_URL)) {
    if (!settings.TASKER_ORCHESTRATION_URL) throw new ConfigError('BENCH_ORCHESTRATOR=external needs TASKER_ORCHESTRATION_URL (http://host:8080)')
    await checkOrchestrator(settings.TASKER_ORCHESTRATION_URL)
    const reason = mode === 'auto' ? 'TASKER_ORCHESTRATION_URL is set' : 'BENCH_ORCHESTRATOR=external'
    log(`orchestrator: external ${settings.TASKER_ORCHESTRATION_URL} (${reason})`)
    return { mode: 'external', reason, url: settings.TASKER_ORCHESTRATION_URL, templatesDir, workers: undefined, logDir: undefined }
  }
  if (mode === 'compose') {
    throw new ConfigError('BENCH_ORCHESTRATOR=compose is not available yet: use embedded or external')
  }
  if (postgres.mode === 'external' && !settings.BENCH_SEED) {
    throw new ConfigError(
      'the embedded orchestrator would write to the external database at DATABASE_URL: set TASKER_ORCHESTRATION_URL to measure your deployment, BENCH_ORCHESTRATOR=off for the SQL and NOTIFY benches only, or BENCH_SEED=true to allow it',
    )
  }
  const reason = mode === 'auto' ? 'no TASKER_ORCHESTRATION_URL' : 'BENCH_ORCHESTRATOR=embedded'
  const logDir = path.join(resultsDir, 'logs')
  const started = await startEmbeddedOrchestrator({
    databaseUrl: postgres.url,
    workers: settings.BENCH_WORKERS,
    logDir,
    log,
  })
  log(`orchestrator: embedded at ${started.url} with ${settings.BENCH_WORKERS} worker(s) (${reason}); logs in ${logDir}`)
  return { mode: 'embedded', reason, url: started.url, templatesDir, workers: settings.BENCH_WORKERS, logDir }
}
