/**
 * The floor: the thinnest correct pgmq + LISTEN/NOTIFY execution of a task DAG. Starting a task
 * is one statement (its join counters, its root messages, the wake-up NOTIFY); every step is one
 * message, claimed by pgmq.read (FOR UPDATE SKIP LOCKED) in a worker process, run in one
 * transaction (run-step.ts); the last step NOTIFYs the task's completion.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Shape } from '../../tasker/workflows.ts'
import { withClient } from '../../../db/with-client.ts'
import { type Baseline, type BaselineOptions } from '../baseline.ts'
import type { Dag } from '../dag.ts'
import { runBaseline } from '../run-baseline.ts'
import { startWorkerProcesses } from '../worker-processes.ts'
import { initialCounters } from './run-step.ts'
import { CREATE_QUEUE, DONE_CHANNEL, QUEUE, START_TASK, WAKE_CHANNEL } from './statements.ts'
import { joinCountersTable } from '../join-counters.ts'
import type { FloorWorkerConfig } from './worker-process.ts'

const SCHEMA = readFileSync(new URL('./schema.sql', import.meta.url), 'utf8') + joinCountersTable('floor_baseline')
const WORKER_ENTRY = fileURLToPath(new URL('./worker-process.ts', import.meta.url))
const VISIBILITY_TIMEOUT_S = 30

/** Creates the floor's schema and queue (idempotent). The database must have pgmq. */
export async function installFloor(databaseUrl: string): Promise<void> {
  await withClient(databaseUrl, async (client) => {
    await client.query('SET client_min_messages = warning')
    await client.query(SCHEMA)
    await client.query(CREATE_QUEUE, [QUEUE])
  })
}

export async function startFloor(dags: Record<Shape, Dag>, options: BaselineOptions): Promise<Baseline> {
  await installFloor(options.databaseUrl)
  const config: FloorWorkerConfig = {
    databaseUrl: options.databaseUrl,
    dags: Object.values(dags),
    concurrency: options.concurrency,
    visibilityTimeoutS: VISIBILITY_TIMEOUT_S,
    statementTimeoutMs: options.statementTimeoutMs,
  }
  return runBaseline(
    {
      name: 'floor',
      description: `pgmq ${QUEUE} + LISTEN/NOTIFY, ${options.workers} worker process(es) × ${options.concurrency} concurrent steps`,
      doneChannel: DONE_CHANNEL,
      startRunners: () => startWorkerProcesses('floor', WORKER_ENTRY, options.workers, config),
      start(starter, task) {
        const counters = initialCounters(task.dag)
        return starter.query(START_TASK, [QUEUE, task.id, counters.steps, counters.remaining, task.roots, WAKE_CHANNEL])
      },
    },
    dags,
    options,
  )
}
