/**
 * The minimal chain: the least a correct DAG execution on PostgreSQL does, as a second reference
 * line next to the floor. Everything runs in this one process (no worker processes), on a plain
 * table (no queue extension): a step's row is inserted with a NOTIFY, claimed by
 * `UPDATE … FOR UPDATE SKIP LOCKED`, and the statement that finishes it inserts the next rows
 * (and NOTIFYs). Per step: one claim and one finishing statement, each one round trip.
 *
 * What it leaves out, and the floor keeps: a claim here is final (a process that dies after
 * claiming loses the step; the floor's pgmq visibility timeout hands the message to another
 * worker, and its delete in the step's transaction keeps the effect exactly-once), and no
 * process boundary between the one starting tasks and the ones running steps.
 */
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type pg from 'pg'
import { newClient, openPool } from '../../../db/connect.ts'
import { processPgLimits } from '../../../db/limits.ts'
import type { Shape } from '../../tasker/workflows.ts'
import { withClient } from '../../../db/with-client.ts'
import { TASK_INPUT, type Baseline, type BaselineOptions } from '../baseline.ts'
import { listenForCompletions, type TaskCompletion } from '../completion-listener.ts'
import { roots, sinks, joins, stepOf, stepValue, type Dag } from '../dag.ts'
import { mergeTrails, type FloorMessage as StepMessage } from '../floor/messages.ts'
import { CLAIM, DONE_CHANNEL, FINISH_STEP, START_TASK, WAKE_CHANNEL } from './statements.ts'
import { joinCountersTable } from '../join-counters.ts'

const SCHEMA = readFileSync(new URL('./schema.sql', import.meta.url), 'utf8') + joinCountersTable('minimal_chain')

export async function installMinimalChain(databaseUrl: string): Promise<void> {
  await withClient(databaseUrl, async (client) => {
    await client.query('SET client_min_messages = warning')
    await client.query(SCHEMA)
  })
}

/** One step: compute it, then one statement counts down the joins, inserts the children, NOTIFYs. */
export async function finishMinimalStep(client: pg.ClientBase, dag: Dag, message: StepMessage): Promise<void> {
  const step = stepOf(dag, message.s)
  const value = stepValue(message.pv, message.in)
  // a join's trail is its parents' trails end to end: each ancestor once
  const trail = [...mergeTrails([message.tr]), step.name]
  const isJoin = (name: string) => stepOf(dag, name).parents.length > 1
  const next = step.children.filter((c) => !isJoin(c)).map((c): StepMessage => ({ ...message, s: c, pv: [value], tr: trail }))
  const completion: TaskCompletion | null = step.children.length === 0 ? { t: message.t, v: { [step.name]: value }, tr: trail } : null
  await client.query(FINISH_STEP, [
    message.t,
    step.children.filter(isJoin),
    value,
    JSON.stringify(trail),
    next.map((m) => JSON.stringify(m)),
    JSON.stringify({ t: message.t, d: message.d, in: message.in }),
    completion && JSON.stringify(completion),
    WAKE_CHANNEL,
    DONE_CHANNEL,
  ])
}

export async function startMinimalChain(dags: Record<Shape, Dag>, options: BaselineOptions): Promise<Baseline> {
  const several = Object.values(dags).find((d) => sinks(d).length !== 1)
  if (several) throw new Error(`minimal chain: ${several.shape} has ${sinks(several).length} last steps; the minimal chain runs DAGs that end in one step`)
  await installMinimalChain(options.databaseUrl)
  const input = options.input ?? TASK_INPUT
  // as many steps at once as the floor's worker processes together
  const slots = options.workers * options.concurrency
  const limits = { ...processPgLimits(), statementTimeoutMs: options.statementTimeoutMs, statementVariable: 'BENCH_STATEMENT_TIMEOUT_MS' as const }
  const url = options.databaseUrl
  const starter = openPool(url, 'minimal chain starter', limits, { max: 4 })
  const steps = openPool(url, 'minimal chain steps', limits, { max: slots })
  const claimer = newClient(url, 'minimal chain claimer', limits)
  const listener = newClient(url, 'minimal chain listener', limits)
  const report = (err: Error) => console.error(`[minimal chain] ${err.message}`)
  starter.on('error', report)
  steps.on('error', report)
  claimer.on('error', report)
  listener.on('error', report)

  let inFlight = 0
  let wanted = false
  let draining = false
  let starved = false
  let stopped = false
  const wake = () => {
    wanted = true
    if (!draining && !stopped) void drain()
  }
  const drain = async () => {
    draining = true
    try {
      while (wanted && !stopped) {
        wanted = false
        for (;;) {
          const free = slots - inFlight
          if (free === 0) {
            starved = true // a finishing step wakes the loop again
            break
          }
          const { rows } = await claimer.query<{ id: string; message: StepMessage }>(CLAIM, [free])
          for (const row of rows) run(row.message)
          // fewer than asked: nothing else was visible; a later insert NOTIFYs (sets `wanted`)
          if (rows.length < free) break
        }
      }
    } catch (err) {
      if (!stopped) report(err as Error)
    } finally {
      draining = false
    }
  }
  const run = (message: StepMessage) => {
    inFlight++
    void (async () => {
      const dag = dags[message.d]
      if (!dag) throw new Error(`a row names an unknown shape ${message.d}`)
      const client = await steps.connect()
      try {
        await finishMinimalStep(client, dag, message)
      } finally {
        client.release()
      }
    })()
      .catch((err: Error) => report(new Error(`step ${message.s} of task ${message.t}: ${err.message}`)))
      .finally(() => {
        inFlight--
        if (starved) {
          starved = false
          wake()
        }
      })
  }

  const completions = await listenForCompletions(options.databaseUrl, DONE_CHANNEL, 'minimal chain')
  try {
    await Promise.all([starter.query('SELECT 1'), claimer.connect(), listener.connect()])
    listener.on('notification', wake)
    await listener.query(`LISTEN ${WAKE_CHANNEL}`)
  } catch (err) {
    await Promise.allSettled([completions.close(), starter.end(), steps.end(), claimer.end(), listener.end()])
    throw err
  }
  return {
    name: 'minimal',
    description: `one process, a plain table + LISTEN/NOTIFY, ${slots} concurrent steps`,
    async runTask(shape, timeoutMs) {
      const dag = dags[shape]
      const t = randomUUID()
      const done = completions.expect(t, timeoutMs)
      const t0 = performance.now() // as the floor's and the peer's: building the start statement counts
      try {
        const counters = joins(dag)
        const messages = roots(dag).map((r): StepMessage => ({ t, d: shape, s: r.name, in: input, pv: [], tr: [] }))
        await starter.query(START_TASK, [t, counters.map((s) => s.name), counters.map((s) => s.parents.length), messages.map((m) => JSON.stringify(m)), WAKE_CHANNEL])
      } catch (err) {
        done.catch(() => {}) // it can only time out now; the start's error says why
        throw err
      }
      const { at, completion } = await done
      return { ms: at - t0, completion }
    },
    async close() {
      stopped = true
      await Promise.allSettled([listener.end(), claimer.end()])
      await Promise.allSettled([completions.close(), starter.end(), steps.end()])
    },
  }
}
