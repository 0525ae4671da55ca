/**
 * Event completion needs a trigger in the orchestrator's own database, so it is used only where
 * the run created that database: the embedded and compose orchestrators (the run's PostgreSQL, or
 * a scratch database on an external server). An external deployment's database is never changed,
 * so its tasks are polled through the API.
 */
import type { RunInfo } from '../results/run-info.ts'
import { createEventWatcher, createPollWatcher, type CompletionWatcher } from './completion.ts'
import type { TaskerClient } from './api-client.ts'

export interface CompletionChoice {
  mode: 'event' | 'poll'
  reason: string
}

export function chooseCompletionMode(run: RunInfo): CompletionChoice {
  const requested = run.settings.BENCH_COMPLETION
  const ours = run.orchestrator.mode === 'embedded' || run.orchestrator.mode === 'compose'
  if (requested === 'event' && !ours) {
    throw new Error(`BENCH_COMPLETION=event needs the completion trigger in the orchestrator's database, and the ${run.orchestrator.mode} orchestrator's database is not this run's to change: use BENCH_COMPLETION=poll (or auto)`)
  }
  if (requested !== 'auto') return { mode: requested, reason: `BENCH_COMPLETION=${requested}` }
  if (ours) {
    return { mode: 'event', reason: `the ${run.orchestrator.mode} orchestrator uses a database this run created` }
  }
  return { mode: 'poll', reason: 'the external orchestrator’s database is not the run’s to change (no completion trigger is installed there)' }
}

export async function createCompletionWatcher(run: RunInfo, api: TaskerClient, choice = chooseCompletionMode(run)): Promise<CompletionWatcher> {
  return choice.mode === 'event' ? createEventWatcher(run.databaseUrl, api) : createPollWatcher(api, run.settings.BENCH_POLL_INTERVAL_MS)
}
