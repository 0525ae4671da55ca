/**
 * The floor: the thinnest correct pgmq + LISTEN/NOTIFY execution of a task DAG. Starting a task
 * is one statement (its join counters, its root messages, the wake-up NOTIFY); every step is one
 * message, claimed by pgmq.read (FOR UPDATE SKIP LOCKED) in a worker process, run in one
 * transaction (run-step.ts); the last step NOTIFYs the task's completion.
 */
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import type { Shape } from '../../tasker/workflows.ts'
import { withClient } from '../../pg/with-client.ts'
import { TASK_INPUT, type Baseline, type BaselineOptions } from '../baseline.ts'
import { listenForCompletions } from '../completion-listener.ts'
import { roots, type Dag } from '../dag.ts'
import { startWorkerProcesses } from '../worker-processes.ts'
import type { FloorMessage } from './messages.ts'
import { initialCounters } from './run-step.ts'
import { CREATE_QUEUE, DONE_CHANNEL, QUEUE, START_TASK, WAKE_CHANNEL } from './statements.ts'
import type { FloorWorkerConfig } from './worker-process.ts'

const SCHEMA = readFileSync(new URL('./schema.sql', import.meta.url), 'utf8')
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
  const input = options.input ?? TASK_INPUT
  // A pool, so that tasks started together (the tests) each have a connection of their own.
  const starter = new pg.Pool({ connectionString: options.databaseUrl, statement_timeout: options.statementTimeoutMs, connectionTimeoutMillis: 10_000, max: 4 })
  starter.on('error', () => {})
  await starter.query('SELECT 1')
  const completions = await listenForCompletions(options.databaseUrl, DONE_CHANNEL, 'floor')
  const config: FloorWorkerConfig = {
    databaseUrl: options.databaseUrl,
    dags: Object.values(dags),
    concurrency: options.concurrency,
    visibilityTimeoutS: VISIBILITY_TIMEOUT_S,
    statementTimeoutMs: options.statementTimeoutMs,
  }
  let workers
  try {
    workers = await startWorkerProcesses('floor', WORKER_ENTRY, options.workers, config)
  } catch (err) {
    await Promise.allSettled([completions.close(), starter.end()])
    throw err
  }
  return {
    name: 'floor',
    description: `pgmq ${QUEUE} + LISTEN/NOTIFY, ${options.workers} worker process(es) × ${options.concurrency} concurrent steps`,
    async runTask(shape, timeoutMs) {
      const dag = dags[shape]
      const t = randomUUID()
      const counters = initialCounters(dag)
      const messages = roots(dag).map((r): FloorMessage => ({ t, d: shape, s: r.name, in: input, pv: [], tr: [] }))
      const done = completions.expect(t, timeoutMs)
      const t0 = performance.now()
      try {
        await starter.query(START_TASK, [QUEUE, t, counters.steps, counters.remaining, messages.map((m) => JSON.stringify(m)), WAKE_CHANNEL])
      } catch (err) {
        done.catch(() => {}) // it can only time out now; the start's error says why
        throw err
      }
      const { at, completion } = await done
      return { ms: at - t0, completion }
    },
    async close() {
      await workers.stop()
      await Promise.allSettled([completions.close(), starter.end()])
    },
  }
}
