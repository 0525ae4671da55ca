/**
 * The peer: graphile-worker (a well-known PostgreSQL job queue: SKIP LOCKED claims, LISTEN/NOTIFY
 * wake-ups) running the same DAGs, one job per step (step-task.ts says how the joins are done).
 * Its schema (graphile_worker, and peer_baseline's join counters) goes only into the database
 * it is given, which the caller guarantees the run owns.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Logger, runMigrations } from 'graphile-worker'
import type { Shape } from '../../tasker/workflows.ts'
import { openPool } from '../../../db/connect.ts'
import { withClient } from '../../../db/with-client.ts'
import { type Baseline, type BaselineOptions } from '../baseline.ts'
import { joinCounters, requireOneLastStep, type Dag } from '../dag.ts'
import { runBaseline } from '../run-baseline.ts'
import { startWorkerProcesses } from '../worker-processes.ts'
import { DONE_CHANNEL, START_TASK, TASK_IDENTIFIER } from './statements.ts'
import { joinCountersTable } from '../join-counters.ts'
import type { PeerWorkerConfig } from './worker-process.ts'

const SCHEMA = readFileSync(new URL('./schema.sql', import.meta.url), 'utf8') + joinCountersTable('peer_baseline')
const WORKER_ENTRY = fileURLToPath(new URL('./worker-process.ts', import.meta.url))
const quiet = new Logger(() => (level, message) => {
  if (level === 'error') console.error(`[peer] ${message}`)
})

/** graphile-worker's migrations and the join counters (idempotent). */
export async function installPeer(databaseUrl: string): Promise<void> {
  const pool = openPool(databaseUrl, 'peer migrations', undefined, { max: 1 })
  try {
    await runMigrations({ pgPool: pool, logger: quiet })
  } finally {
    await pool.end()
  }
  await withClient(databaseUrl, async (client) => {
    await client.query('SET client_min_messages = warning')
    await client.query(SCHEMA)
  })
}

export async function startPeer(dags: Record<Shape, Dag>, options: BaselineOptions): Promise<Baseline> {
  requireOneLastStep(dags, 'peer')
  await installPeer(options.databaseUrl)
  const config: PeerWorkerConfig = { databaseUrl: options.databaseUrl, dags: Object.values(dags), concurrency: options.concurrency }
  return runBaseline(
    {
      name: 'peer',
      description: `graphile-worker, ${options.workers} worker process(es) × concurrency ${options.concurrency}`,
      doneChannel: DONE_CHANNEL,
      startRunners: () => startWorkerProcesses('peer', WORKER_ENTRY, options.workers, config),
      start(starter, task) {
        const counters = joinCounters(task.dag)
        return starter.query(START_TASK, [task.id, counters.steps, counters.remaining, TASK_IDENTIFIER, task.roots])
      },
    },
    dags,
    options,
  )
}
