/**
 * The distributed load, end to end: the system under test as the suite provides it (PostgreSQL and
 * orchestrator from the settings, the embedded reference by default) → the load engine → for each
 * rate of BENCH_LOAD_RATES, `generators` Artillery processes sharing rate × BENCH_LOAD_SECONDS
 * tasks → their sketches merged → one results file in the suite's format, budgets checked, the
 * usual reports next to it. Everything started is stopped at the end and on Ctrl-C.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { onCleanup } from '../cleanup.ts'
import { loadSettings, redactUrl, type Settings } from '../../config/settings.ts'
import { profileValue } from '../../config/profile.ts'
import { collectEnvironment } from '../environment.ts'
import { loadRunBudgets } from '../../results/budgets/load.ts'
import { choosePostgresMode, providePostgres } from '../postgres/provide.ts'
import { prepareDatabase } from '../database/prepare.ts'
import { newRunId } from '../../db/scratch-database.ts'
import { chooseOrchestratorMode, provideOrchestrator } from '../orchestrator/provide.ts'
import { applyPgDefaults, pgLimits } from '../../db/limits.ts'
import { taskerClientLimits, createTaskerClient } from '../../tasker/api-client.ts'
import { createEventWatcher } from '../../tasker/completion.ts'
import { chooseCompletionMode } from '../../tasker/completion-mode.ts'
import type { RunInfo } from '../../results/run-info.ts'
import { SCHEMA_VERSION, type ResultsDocument, type ResultEntry } from '../../results/schema.ts'
import { writeResultsFiles } from '../../results/write.ts'
import { redactDeep } from '../../config/credentials.ts'
import { finishRun } from '../../offline/report/finish-run.ts'
import { ensureLoadEngine, engineDir } from './install.ts'
import { runGenerators } from './generators.ts'
import { mergeMetrics, readSketchFile, type SketchClass } from './merge.ts'
import { rateResult } from './results.ts'
import { shareArrivals, writeGeneratorFiles } from './script.ts'

const TASK_TIMEOUT_MS = 30_000
/** start-up of a generator process (Node, Artillery, the processor's connections) */
const GENERATOR_STARTUP_MS = 60_000

export interface DistributedLoadOptions {
  root: string
  generators: number
  log: (line: string) => void
  /** for tests: the settings instead of the environment and .env */
  settings?: Settings
}

export interface DistributedLoadOutcome {
  resultsFile: string | undefined
  exitCode: 0 | 1
}

export async function runDistributedLoad(options: DistributedLoadOptions): Promise<DistributedLoadOutcome> {
  const { log, generators } = options
  const settings = options.settings ?? loadSettings({ root: options.root })
  const rates = profileValue(settings, 'BENCH_LOAD_RATES')
  const seconds = profileValue(settings, 'BENCH_LOAD_SECONDS')
  const orchestratorChoice = chooseOrchestratorMode(settings)
  const book = loadRunBudgets(settings, orchestratorChoice.mode)
  for (const rate of rates) shareArrivals(rate, seconds, generators) // a rate too low for the generators fails before anything starts
  const engine = ensureLoadEngine(engineDir(settings.root), log)
  log(`load engine: Artillery ${engine.version} (${engine.dir}); telemetry off`)
  const DDSketch = (engine.require('@artilleryio/sketches-js') as { DDSketch: SketchClass }).DDSketch

  const resultsDir = path.resolve(settings.root, settings.BENCH_RESULTS_DIR)
  applyPgDefaults(pgLimits(settings, 'setup'))
  const pgChoice = await choosePostgresMode(settings)
  const postgres = await providePostgres(settings, pgChoice, log)
  const database = await prepareDatabase(postgres, log)
  const runId = newRunId()
  const orchestrator = await provideOrchestrator({ settings, choice: orchestratorChoice, postgres, runId, resultsDir, log })
  if (!orchestrator.url) throw new Error(`the distributed load needs an orchestrator to create tasks on: ${orchestrator.tasksRefused ?? `BENCH_ORCHESTRATOR=${orchestrator.mode}`}`)
  const databaseUrl = orchestrator.databaseUrl ?? postgres.url
  const completion = chooseCompletionMode({ settings, orchestrator: { mode: orchestrator.mode } } as RunInfo)
  log(`completion: ${completion.mode} (${completion.reason})`)

  // Event completion: one trigger for all generators, installed here and dropped at the end.
  const api = createTaskerClient(orchestrator.url, 4, taskerClientLimits(settings))
  onCleanup('load API client', () => api.close())
  await api.health()
  if (completion.mode === 'event') {
    const owner = await createEventWatcher(databaseUrl, api)
    onCleanup('completion trigger', () => owner.close())
  }

  const work = mkdtempSync(path.join(os.tmpdir(), 'tasker-load-distributed-'))
  onCleanup(`generator files ${work}`, () => rmSync(work, { recursive: true, force: true }))
  const logDir = path.join(resultsDir, 'logs')
  mkdirSync(logDir, { recursive: true })
  const entries: ResultEntry[] = []
  let failed = false
  for (const rate of rates) {
    const shares = shareArrivals(rate, seconds, generators)
    const files = shares.map((share) =>
      writeGeneratorFiles(work, logDir, `rate-${rate}`, share, seconds, {
        orchestratorUrl: orchestrator.url!,
        completion: completion.mode,
        databaseUrl: completion.mode === 'event' ? databaseUrl : undefined,
        pollIntervalMs: settings.BENCH_POLL_INTERVAL_MS,
        templatesDir: orchestrator.templatesDir,
        taskTimeoutMs: TASK_TIMEOUT_MS,
        limits: taskerClientLimits(settings),
      }),
    )
    const arrivals = shares.reduce((sum, s) => sum + s.arrivals, 0)
    log(`${rate} tasks/s for ${seconds} s: ${arrivals} linear tasks over ${generators} generator processes (${shares.map((s) => s.arrivals).join(' + ')})`)
    const exits = await runGenerators(engine, files, seconds * 1000 + TASK_TIMEOUT_MS + GENERATOR_STARTUP_MS)
    const broken = exits.filter((e) => e.timedOut || e.code !== 0)
    for (const e of broken) {
      const how = e.timedOut ? 'was killed at the hard time limit' : `exited with ${e.signal ?? `code ${e.code}`}`
      log(`generator ${path.basename(e.files.script)} ${how}; its log: ${e.files.log}`)
    }
    const sketches = exits.filter((e) => !e.timedOut).map((e) => readSketchFile(e.files.sketch))
    const outcome = rateResult(rate, seconds, mergeMetrics(sketches, DDSketch), arrivals, book, {
      completionMode: completion.mode,
      ...(completion.mode === 'poll' ? { pollIntervalMs: settings.BENCH_POLL_INTERVAL_MS } : {}),
      loadEngine: { name: 'artillery', version: engine.version, generators, generatorsMerged: sketches.length, merge: 'DDSketch (Artillery’s, 1% relative accuracy)' },
    })
    log(outcome.line)
    for (const v of outcome.violations) log(v)
    if (outcome.entry) entries.push(outcome.entry)
    if (!outcome.entry || outcome.violations.length > 0 || outcome.failures.length > 0 || broken.length > 0) failed = true
  }

  let resultsFile: string | undefined
  let exitCode: 0 | 1 = failed ? 1 : 0
  if (entries.length > 0) {
    const environment = redactDeep(
      collectEnvironment(
        {
          profile: settings.BENCH_PROFILE,
          postgres: { mode: postgres.mode, version: database.serverVersion, reason: pgChoice.reason },
          pgmq: database.pgmq,
          orchestrator: { mode: orchestrator.mode, reason: orchestrator.reason, workers: orchestrator.workers },
        },
        { root: settings.root },
      ),
    )
    const doc: ResultsDocument = { schemaVersion: SCHEMA_VERSION, environment, results: entries }
    resultsFile = writeResultsFiles(doc, resultsDir).file
    log(`results: ${path.relative(process.cwd(), resultsFile) || resultsFile} (${entries.length} measurements); database ${redactUrl(databaseUrl)}`)
    if (finishRun(doc, resultsDir, { root: settings.root, log }).exitCode !== 0) exitCode = 1
  }
  return { resultsFile, exitCode }
}
