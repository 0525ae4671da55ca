/** What the bench asks of a baseline (the floor, the peer): run one task of a shape, time it. */
import { processPgLimits, type PgLimits } from '../../db/limits.ts'
import type { Shape } from '../tasker/workflows.ts'
import type { TaskCompletion } from './completion-listener.ts'

export interface BaselineSample {
  /** t0 right before the task is started, end when its completion NOTIFY arrives */
  ms: number
  completion: TaskCompletion
}

export interface Baseline {
  name: 'floor' | 'peer' | 'minimal'
  /** one line for the report: what runs, where, with how many workers */
  description: string
  runTask(shape: Shape, timeoutMs: number): Promise<BaselineSample>
  close(): Promise<void>
}

export interface BaselineOptions {
  /** a database the run owns: a scratch database, or one on the embedded server */
  databaseUrl: string
  /** worker processes (BENCH_WORKERS, as the orchestrator under test) */
  workers: number
  /** concurrent steps per worker process */
  concurrency: number
  statementTimeoutMs: number
  /** the task's input, as the E2E requests' context.even_number */
  input?: number
}

/** The reference worker's default concurrency per process (TASKER_CONCURRENCY). */
export const WORKER_CONCURRENCY = 8
export const TASK_INPUT = 6

/** A baseline's connections: the run's statement timeout; this process's defaults for the rest (a worker process applied none of its own). */
export function baselineLimits(statementTimeoutMs: number): PgLimits {
  return { ...processPgLimits(), statementTimeoutMs, statementVariable: 'BENCH_STATEMENT_TIMEOUT_MS' }
}
