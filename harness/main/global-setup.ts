/**
 * Global setup of the benchmarks project: runs once per `vitest bench` in the main process.
 * config → PostgreSQL (+ pgmq + tasker schema) → orchestrator → provide('run', …) to the bench
 * files; the returned teardown (and Ctrl-C / crash handlers) stops everything it started.
 */
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import type { TestProject } from 'vitest/node'
import { onCleanup, onInterrupt, runCleanups } from './cleanup.ts'
import { ConfigError, loadSettings, redactUrl, unknownBenchVariables, type Settings } from '../config/settings.ts'
import { collectEnvironment } from './environment.ts'
import { loadRunBudgets, type BudgetBook } from '../results/budgets/load.ts'
import { choosePostgresMode, providePostgres } from './postgres/provide.ts'
import type { StartedPostgres } from './postgres/types.ts'
import { prepareDatabase } from './database/prepare.ts'
import { dropRunScratchDatabases, newRunId } from '../db/scratch-database.ts'
import { dropRunScratchDatabasesSync } from './database/drop-scratch-databases.ts'
import { fingerprintRecord } from '../db/tasker-functions.ts'
import { chooseOrchestratorMode, provideOrchestrator, type OrchestratorChoice } from './orchestrator/provide.ts'
import { provideTraces } from './traces/provide.ts'
import { applyPgDefaults, pgLimits } from '../db/limits.ts'
import type { RunInfo } from '../results/run-info.ts'
import { redactCredentials, redactDeep } from '../config/credentials.ts'
import { provideBaselineServer } from './baseline-server.ts'

// Every line printed, and the environment recorded with the results, passes through the redaction
// of URL passwords: the modules redact what they know to be a URL; this catches what a library
// quotes in an error message.
const log = (line: string) => console.log(`[tasker-bench] ${redactCredentials(line)}`)

export default async function globalSetup(project: TestProject) {
  let settings: Settings
  let orchestratorChoice: OrchestratorChoice
  let budgets: BudgetBook
  try {
    // Everything that can be wrong in the settings fails here, before anything starts.
    settings = loadSettings({ root: project.config.root })
    orchestratorChoice = chooseOrchestratorMode(settings)
    budgets = loadRunBudgets(settings, orchestratorChoice.mode)
  } catch (err) {
    throw oneLine(err)
  }
  // On Ctrl-C no further bench file starts while what the run started is being stopped.
  onInterrupt(() => project.vitest.cancelCurrentRun('keyboard-input'))
  for (const name of unknownBenchVariables()) log(`warning: ${name} is not a variable this suite knows (see .env.example)`)
  const resultsDir = path.resolve(settings.root, settings.BENCH_RESULTS_DIR)
  // Set-up statements (migrations, scratch databases) may run long, but never wait on a lock for ever.
  applyPgDefaults(pgLimits(settings, 'setup'))
  mkdirSync(resultsDir, { recursive: true })

  try {
    const choice = await choosePostgresMode(settings)
    log(`PostgreSQL: ${choice.mode} (${choice.reason})`)
    const postgres: StartedPostgres = await providePostgres(settings, choice, log)
    const database = await prepareDatabase(postgres, log)
    const runId = newRunId()
    const writable = postgres.owned || settings.BENCH_SEED
    if (writable && !postgres.owned) {
      // Bench files drop their scratch databases themselves; this catches what an interrupted or
      // crashed bench worker left (registered after the server, so it runs before it stops).
      onCleanup(
        'scratch databases',
        async () => {
          const dropped = await dropRunScratchDatabases(postgres.url, runId)
          if (dropped.length > 0) log(`dropped scratch database(s) left by run ${runId}: ${dropped.join(', ')}`)
        },
        () => dropRunScratchDatabasesSync(postgres.url, runId),
      )
    }
    const traces = await provideTraces(settings, log, { orchestrator: orchestratorChoice.mode })
    const orchestrator = await provideOrchestrator({ settings, choice: orchestratorChoice, postgres, runId, resultsDir, otlpEndpoint: traces.otlpEndpoint, log })
    const functions = fingerprintRecord(database.functions)
    const baselineServer = await provideBaselineServer(settings, { writable, orchestrator: orchestrator.url !== undefined }, log)

    const run: RunInfo = {
      profile: settings.BENCH_PROFILE,
      settings,
      resultsDir,
      runId,
      targetDatabaseUrl: postgres.url,
      writable,
      databaseUrl: orchestrator.databaseUrl ?? postgres.url,
      orchestratorUrl: orchestrator.url,
      templatesDir: orchestrator.templatesDir,
      postgres: { mode: postgres.mode, reason: choice.reason, version: database.serverVersion, owned: postgres.owned },
      pgmq: database.pgmq,
      orchestrator: { mode: orchestrator.mode, reason: orchestrator.reason, workers: orchestrator.workers, logDir: orchestrator.logDir, ...(orchestrator.tasksRefused ? { tasksRefused: orchestrator.tasksRefused } : {}) },
      traces,
      ...(baselineServer ? { baselineServer } : {}),
      budgets: budgets.toData(),
      environment: redactDeep(collectEnvironment({
        profile: settings.BENCH_PROFILE,
        postgres: { mode: postgres.mode, version: database.serverVersion, reason: choice.reason },
        pgmq: database.pgmq,
        functions,
        orchestrator: { mode: orchestrator.mode, reason: orchestrator.reason, workers: orchestrator.workers },
        traces: traces.mode,
      })),
    }
    project.provide('run', run)
    log(`database ${redactUrl(postgres.url)}; pgmq ${database.pgmq.kind} ${database.pgmq.version}`)
  } catch (err) {
    await runCleanups()
    throw oneLine(err)
  }

  return async () => {
    await runCleanups()
  }
}

/**
 * What stops the set-up is said in one line (its message names what, where and what to do);
 * the stack trace of our own set-up code helps nobody but us, so it shows with BENCH_VERBOSE=true.
 */
function oneLine(err: unknown, verbose = process.env.BENCH_VERBOSE === 'true'): Error {
  const e = err instanceof Error ? err : new Error(String(err))
  e.message = redactCredentials(e.message)
  if (!verbose || err instanceof ConfigError) e.stack = `${e.name === 'ConfigError' ? 'ConfigError' : 'Error'}: ${e.message}`
  else if (e.stack) e.stack = redactCredentials(e.stack)
  return e
}
