/**
 * What the floor and the peer share once their schema is installed: a pool that starts tasks, the
 * completion listener, the worker processes, and the timing of one task (t0 right before the
 * start statement, the end when its completion NOTIFY arrives). Each baseline supplies only its
 * start statement.
 */
import { randomUUID } from 'node:crypto'
import type pg from 'pg'
import { openPool } from '../../db/connect.ts'
import { processPgLimits } from '../../db/limits.ts'
import type { Shape } from '../tasker/workflows.ts'
import type { Baseline, BaselineOptions } from './baseline.ts'
import { listenForCompletions } from './completion-listener.ts'
import { startWorkerProcesses } from './worker-processes.ts'

export interface BaselineParts {
  name: Baseline['name']
  description: string
  /** the NOTIFY channel its last steps report completions on */
  doneChannel: string
  workerEntry: string
  workerConfig: unknown
  /** starts task `taskId` of `shape` with one statement on `starter` */
  start(starter: pg.Pool, shape: Shape, taskId: string): Promise<unknown>
}

export async function runBaseline(parts: BaselineParts, options: BaselineOptions): Promise<Baseline> {
  // A pool, so that tasks started together (the tests) each have a connection of their own.
  const limits = { ...processPgLimits(), statementTimeoutMs: options.statementTimeoutMs, statementVariable: 'BENCH_STATEMENT_TIMEOUT_MS' as const }
  const starter = openPool(options.databaseUrl, `${parts.name} starter`, limits, { max: 4 })
  await starter.query('SELECT 1')
  const completions = await listenForCompletions(options.databaseUrl, parts.doneChannel, parts.name)
  let workers
  try {
    workers = await startWorkerProcesses(parts.name, parts.workerEntry, options.workers, parts.workerConfig)
  } catch (err) {
    await Promise.allSettled([completions.close(), starter.end()])
    throw err
  }
  return {
    name: parts.name,
    description: parts.description,
    async runTask(shape, timeoutMs) {
      const t = randomUUID()
      const done = completions.expect(t, timeoutMs)
      const t0 = performance.now()
      try {
        await parts.start(starter, shape, t)
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
