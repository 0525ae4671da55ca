/**
 * Drops a run's scratch databases from a child process, synchronously: the last-resort cleanup on
 * a hard exit, where no asynchronous work can run any more (see harness/main/cleanup.ts). Run as a script
 * it reads the server URL and run id from the environment (never argv, which `ps` shows).
 *
 * The child's own lines (what it dropped, what it could not) are passed on; a child that fails,
 * is killed or runs out of time is reported too, naming the run and what to drop by hand.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { redactCredentials } from '../../config/credentials.ts'
import { redactUrl } from '../../config/settings.ts'
import { dropRunScratchDatabases } from '../../db/scratch-database.ts'

const SELF = fileURLToPath(import.meta.url)
const DEFAULT_TIMEOUT_MS = 15_000

export interface SyncDropOutcome {
  ok: boolean
  /** what was printed (to stderr), child's lines first */
  lines: string[]
}

export function dropRunScratchDatabasesSync(serverUrl: string, runId: string, options: { timeoutMs?: number } = {}): SyncDropOutcome {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const r = spawnSync(process.execPath, [SELF], {
    env: { ...process.env, TASKER_BENCH_SCRATCH_SERVER: serverUrl, TASKER_BENCH_SCRATCH_RUN: runId },
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
  })
  const lines = `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').filter((l) => l.trim() !== '').map(redactCredentials)
  const failure = childFailure(r, timeoutMs)
  if (failure) {
    lines.push(`[tasker-bench] scratch databases of run ${runId} on ${redactUrl(serverUrl)}: ${failure}; drop what is left yourself (the databases named tasker_bench_${runId}_*)`)
  }
  for (const line of lines) console.error(line)
  return { ok: failure === undefined, lines }
}

function childFailure(r: ReturnType<typeof spawnSync>, timeoutMs: number): string | undefined {
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT') return `the drop did not finish within ${timeoutMs / 1000} s (its process was killed)`
  if (r.error) return `the drop could not run (${r.error.message})`
  if (r.signal) return `the drop process was killed (${r.signal})`
  if (r.status !== 0) return `the drop failed (exit ${r.status})`
  return undefined
}

if (process.argv[1] === SELF) {
  const runId = process.env.TASKER_BENCH_SCRATCH_RUN!
  try {
    const dropped = await dropRunScratchDatabases(process.env.TASKER_BENCH_SCRATCH_SERVER!, runId)
    if (dropped.length > 0) console.error(`[tasker-bench] dropped scratch database(s) left by run ${runId}: ${dropped.join(', ')}`)
  } catch (err) {
    console.error(`[tasker-bench] scratch databases: ${(err as Error).message}`)
    process.exitCode = 1
  }
}
