/**
 * Ctrl-C or SIGTERM during a series of bench runs: the run in progress finishes (its PostgreSQL
 * and orchestrator stop with it), then the series stops and keeps what it has. One warning says so.
 */
import type { Progress } from './progress.ts'

export interface Interruption {
  /** a signal came (or stop() was called): start no further run */
  readonly requested: boolean
  /** stop the series for a reason of its own (a time limit) */
  stop(): void
  /** the signals are the process's again */
  dispose(): void
}

export function stopAfterCurrentRun(progress: Progress, andThen = ''): Interruption {
  let requested = false
  const onSignal = () => {
    requested = true
    progress.warn(`interrupted: stopping after the current run${andThen ? ` ${andThen}` : ''}`)
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return {
    get requested() {
      return requested
    },
    stop: () => {
      requested = true
    },
    dispose: () => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    },
  }
}
