/**
 * What a bench file needs from the run, and the one rule when it is missing: the file skips,
 * saying why in one line printed when the file loads (Vitest runs no hook of a file whose tests
 * all skip). Each bench file decides with these at load time and passes the reason to
 * describe.skipIf / test.skipIf.
 */
import type { RunInfo } from '../results/run-info.ts'

/** Why this run has no orchestrator for the bench to call, or undefined when it has one. */
export function noOrchestrator(run: Pick<RunInfo, 'orchestratorUrl' | 'orchestrator'>): string | undefined {
  if (run.orchestratorUrl) return undefined
  return run.orchestrator.tasksRefused ?? 'needs an orchestrator and the run has none (BENCH_ORCHESTRATOR=off; use embedded, compose or TASKER_ORCHESTRATION_URL)'
}

/** The first reason that applies, printed once as `[<bench>] skipped: <reason>`. */
export function skipReason(bench: string, ...reasons: (string | undefined)[]): string | undefined {
  const reason = reasons.find((r) => r !== undefined)
  if (reason) console.log(`[${bench}] skipped: ${reason}`)
  return reason
}
