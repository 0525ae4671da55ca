/**
 * What every baseline shares once its schema is installed: a pool that starts tasks, the
 * completion listener, the step runners (worker processes, or the minimal chain's in-process
 * loop), and the timing of one task: t0 right before the start statement is built and sent, the
 * end when its completion NOTIFY arrives. Each baseline supplies its runners and its start
 * statement.
 */
import { randomUUID } from 'node:crypto'
import type pg from 'pg'
import { openPool } from '../../db/connect.ts'
import type { Shape } from '../tasker/workflows.ts'
import { baselineLimits, TASK_INPUT, type Baseline, type BaselineOptions } from './baseline.ts'
import { listenForCompletions } from './completion-listener.ts'
import { roots, type Dag } from './dag.ts'
import type { FloorMessage } from './floor/messages.ts'

export interface NewTask {
  id: string
  shape: Shape
  dag: Dag
  /** the root steps' messages, as JSON */
  roots: string[]
}

export interface BaselineParts {
  name: Baseline['name']
  description: string
  /** the NOTIFY channel its last steps report completions on */
  doneChannel: string
  /** starts what runs the steps; resolves once they are ready */
  startRunners(): Promise<{ stop(): Promise<void> }>
  /** starts a task with one statement on `starter` */
  start(starter: pg.Pool, task: NewTask): Promise<unknown>
}

export async function runBaseline(parts: BaselineParts, dags: Record<Shape, Dag>, options: BaselineOptions): Promise<Baseline> {
  const input = options.input ?? TASK_INPUT
  // A pool, so that tasks started together (the tests) each have a connection of their own.
  const starter = openPool(options.databaseUrl, `${parts.name} starter`, baselineLimits(options.statementTimeoutMs), { max: 4 })
  let closing = false
  // once closed, an idle connection may still see the server go away: not worth a line
  starter.on('error', (err) => closing || console.error(`[${parts.name} starter] ${err.message}`))
  let completions
  let runners
  try {
    await starter.query('SELECT 1')
    completions = await listenForCompletions(options.databaseUrl, parts.doneChannel, parts.name)
    runners = await parts.startRunners()
  } catch (err) {
    await Promise.allSettled([completions?.close(), starter.end()])
    throw err
  }
  const listening = completions
  return {
    name: parts.name,
    description: parts.description,
    async runTask(shape, timeoutMs) {
      const id = randomUUID()
      const done = listening.expect(id, timeoutMs)
      const t0 = performance.now()
      try {
        const dag = dags[shape]
        const messages = roots(dag).map((r): FloorMessage => ({ t: id, d: shape, s: r.name, in: input, pv: [], tr: [] }))
        await parts.start(starter, { id, shape, dag, roots: messages.map((m) => JSON.stringify(m)) })
      } catch (err) {
        done.catch(() => {}) // it can only time out now; the start's error says why
        throw err
      }
      const { at, completion } = await done
      return { ms: at - t0, completion }
    },
    async close() {
      closing = true
      await runners.stop()
      await Promise.allSettled([listening.close(), starter.end()])
    },
  }
}
