/**
 * The prologue every bench against the run's orchestrator shares: before all, an API client
 * (health-checked), the workflows, and, when the bench waits for tasks, a completion watcher;
 * then the wait until the orchestrator is idle before the first sample; after all, everything
 * closed. Nothing is set up when the bench is skipped.
 */
import { afterAll, beforeAll } from 'vitest'
import type { RunInfo } from '../../results/run-info.ts'
import { createTaskerClient, taskerClientLimits, type TaskerClient } from '../../tasker/api-client.ts'
import { chooseCompletionMode, createCompletionWatcher, type CompletionChoice } from '../../tasker/completion-mode.ts'
import type { CompletionWatcher } from '../../tasker/completion.ts'
import { waitForIdleBeforeFirstSample } from './idle.ts'
import { loadWorkflows, type Shape, type Workflow } from './workflows.ts'

export interface SessionOptions {
  /** why the bench is skipped (from skipReason): then nothing is set up */
  skip: string | undefined
  /** concurrent HTTP connections to the API (default 32) */
  connections?: number
  /** watch task completions, in the run's completion mode */
  watch?: boolean
  /** the bench's own set-up, once the session is ready and before the idle wait */
  then?: (session: OrchestratorSession) => Promise<void>
}

/** Filled before all; read it inside tests and hooks only. */
export interface OrchestratorSession {
  api: TaskerClient
  workflows: Record<Shape, Workflow>
  /** set with `watch` */
  watcher: CompletionWatcher
  /** the completion mode (with `watch`, decided when the file is collected) */
  completion: CompletionChoice
}

/** Registers the prologue's hooks in the current scope; `label` prefixes its log lines. */
export function orchestratorSession(run: RunInfo, label: string, options: SessionOptions): OrchestratorSession {
  const session = {} as OrchestratorSession
  if (options.skip !== undefined) return session
  if (options.watch) session.completion = chooseCompletionMode(run)
  beforeAll(async () => {
    session.api = createTaskerClient(run.orchestratorUrl!, options.connections ?? 32, taskerClientLimits(run.settings))
    await session.api.health()
    session.workflows = loadWorkflows(run.templatesDir)
    if (options.watch) session.watcher = await createCompletionWatcher(run, session.api, session.completion)
    await options.then?.(session)
  })
  waitForIdleBeforeFirstSample(run, label)
  afterAll(async () => {
    await session.watcher?.close()
    await session.api?.close()
  })
  return session
}
