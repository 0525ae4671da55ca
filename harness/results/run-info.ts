/**
 * What the global setup `provide()`s to every bench file and to the reporter
 * (`inject('run')` in a bench, `testModule.project.getProvidedContext().run` in a reporter).
 * Must stay JSON-serialisable: Vitest sends it to the workers.
 */
import type { Settings } from '../config/settings.ts'
import type { EnvironmentFingerprint, PostgresMode, Profile } from './environment.ts'
import type { TraceSettings } from './traces/types.ts'
import type { BudgetBookData } from './budgets/load.ts'

export interface RunInfo {
  environment: EnvironmentFingerprint
  /** absolute directory for result files, logs and plans (BENCH_RESULTS_DIR) */
  resultsDir: string
  profile: Profile
  /** the validated settings, so bench files read them without parsing the environment again */
  settings: Settings
  /** 8 hex digits naming this run's scratch databases (`tasker_bench_<runId>_<purpose>`) */
  runId: string
  /**
   * The database whose SQL functions and pgmq are measured: DATABASE_URL, or the run's own.
   * Never written to unless the run created it (print through redactUrl).
   */
  targetDatabaseUrl: string
  /** the run may write on the target's server: it started it, or BENCH_SEED=true (scratch databases only) */
  writable: boolean
  /**
   * The database the orchestrator under test works on, as far as the suite can reach it: the run's
   * own, a scratch database for the embedded orchestrator on an external server, or DATABASE_URL
   * next to an external orchestrator (then read-only). May hold a password.
   */
  databaseUrl: string
  /** the orchestration API under test; undefined with BENCH_ORCHESTRATOR=off, and for an external one without BENCH_CREATE_TASKS=true */
  orchestratorUrl: string | undefined
  /** task templates the benches create tasks from */
  templatesDir: string
  postgres: { mode: PostgresMode; reason: string; version: string; owned: boolean }
  pgmq: { kind: string; version: string }
  /** where spans are collected for the worker-level breakdown */
  traces: TraceSettings
  orchestrator: {
    mode: 'embedded' | 'compose' | 'external' | 'off'
    reason: string
    workers: number | undefined
    logDir: string | undefined
    /** why orchestratorUrl is withheld: an external orchestrator without BENCH_CREATE_TASKS=true */
    tasksRefused?: string
  }
  /**
   * The suite's own embedded server for the floor and peer baselines, started only when the
   * server under test is not writable (else they run in scratch databases on that server).
   */
  baselineServer?: { url: string; reason: string; pgmq: string }
  /** the run's budget book, loaded once by the global setup with its overlays (BudgetBook.fromData) */
  budgets: BudgetBookData
}

declare module 'vitest' {
  export interface ProvidedContext {
    run: RunInfo
  }
}
