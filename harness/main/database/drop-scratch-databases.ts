/**
 * Drops a run's scratch databases from a child process, synchronously: the last-resort cleanup on
 * a hard exit, where no asynchronous work can run any more (see harness/main/cleanup.ts). Run as a script
 * it reads the server URL and run id from the environment (never argv, which `ps` shows).
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { dropRunScratchDatabases } from '../../bench/database/scratch-database.ts'

const SELF = fileURLToPath(import.meta.url)

export function dropRunScratchDatabasesSync(serverUrl: string, runId: string): void {
  spawnSync(process.execPath, [SELF], {
    env: { ...process.env, TASKER_BENCH_SCRATCH_SERVER: serverUrl, TASKER_BENCH_SCRATCH_RUN: runId },
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 15_000,
  })
}

if (process.argv[1] === SELF) {
  const dropped = await dropRunScratchDatabases(process.env.TASKER_BENCH_SCRATCH_SERVER!, process.env.TASKER_BENCH_SCRATCH_RUN!)
  if (dropped.length > 0) console.error(`[tasker-bench] dropped scratch database(s) left by the run: ${dropped.join(', ')}`)
}
