/**
 * Event completion needs the trigger in the orchestrator's own database: true for the embedded
 * and compose orchestrators (they use the run's PostgreSQL), and for an external deployment only when
 * DATABASE_URL is its database and BENCH_SEED=true allows installing the trigger there.
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
  if (requested !== 'auto') return { mode: requested, reason: `BENCH_COMPLETION=${requested}` }
  if (run.orchestrator.mode === 'embedded' || run.orchestrator.mode === 'compose') {
    return { mode: 'event', reason: `the ${run.orchestrator.mode} orchestrator uses the run’s database` }
  }
  if (run.postgres.mode === 'external' && run.settings.BENCH_SEED) return { mode: 'event', reason: 'DATABASE_URL with BENCH_SEED=true' }
  return { mode: 'poll', reason: 'the orchestrator’s database is not writable by the suite (set DATABASE_URL and BENCH_SEED=true for event mode)' }
}

export async function createCompletionWatcher(run: RunInfo, api: TaskerClient, choice = chooseCompletionMode(run)): Promise<CompletionWatcher> {
  return choice.mode === 'event' ? createEventWatcher(run.databaseUrl, api) : createPollWatcher(api, run.settings.BENCH_POLL_INTERVAL_MS)
}
