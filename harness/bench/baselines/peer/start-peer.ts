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
import { TASK_INPUT, type Baseline, type BaselineOptions } from '../baseline.ts'
import { joins, roots, sinks, type Dag } from '../dag.ts'
import type { FloorMessage as StepMessage } from '../floor/messages.ts'
import { runBaseline } from '../run-baseline.ts'
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
  const several = Object.values(dags).find((d) => sinks(d).length !== 1)
  if (several) throw new Error(`peer: ${several.shape} has ${sinks(several).length} last steps; the peer runs DAGs that end in one step`)
  await installPeer(options.databaseUrl)
  const input = options.input ?? TASK_INPUT
  const config: PeerWorkerConfig = { databaseUrl: options.databaseUrl, dags: Object.values(dags), concurrency: options.concurrency }
  return runBaseline(
    {
      name: 'peer',
      description: `graphile-worker, ${options.workers} worker process(es) × concurrency ${options.concurrency}`,
      doneChannel: DONE_CHANNEL,
      workerEntry: WORKER_ENTRY,
      workerConfig: config,
      start(starter, shape, t) {
        const dag = dags[shape]
        const counters = joins(dag)
        const payloads = roots(dag).map((r): StepMessage => ({ t, d: shape, s: r.name, in: input, pv: [], tr: [] }))
        return starter.query(START_TASK, [t, counters.map((s) => s.name), counters.map((s) => s.parents.length), TASK_IDENTIFIER, payloads.map((p) => JSON.stringify(p))])
      },
    },
    options,
  )
}
