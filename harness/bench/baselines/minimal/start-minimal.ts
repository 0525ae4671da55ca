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
import { readFileSync } from 'node:fs'
import type pg from 'pg'
import { newClient, openPool } from '../../../db/connect.ts'
import type { Shape } from '../../tasker/workflows.ts'
import { withClient } from '../../../db/with-client.ts'
import { baselineLimits, type Baseline, type BaselineOptions } from '../baseline.ts'
import { claimLoop } from '../claim-loop.ts'
import { joinCounters, requireOneLastStep, type Dag } from '../dag.ts'
import { finishedStep } from '../finished-step.ts'
import type { FloorMessage as StepMessage } from '../floor/messages.ts'
import { runBaseline } from '../run-baseline.ts'
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
  const { joinChildren, tail } = finishedStep(dag, message, { wake: WAKE_CHANNEL, done: DONE_CHANNEL })
  await client.query(FINISH_STEP, [message.t, joinChildren, ...tail])
}

export async function startMinimalChain(dags: Record<Shape, Dag>, options: BaselineOptions): Promise<Baseline> {
  requireOneLastStep(dags, 'minimal chain')
  await installMinimalChain(options.databaseUrl)
  // as many steps at once as the floor's worker processes together
  const slots = options.workers * options.concurrency
  return runBaseline(
    {
      name: 'minimal',
      description: `one process, a plain table + LISTEN/NOTIFY, ${slots} concurrent steps`,
      doneChannel: DONE_CHANNEL,
      startRunners: () => runStepsInProcess(dags, options, slots),
      start(starter, task) {
        const counters = joinCounters(task.dag)
        return starter.query(START_TASK, [task.id, counters.steps, counters.remaining, task.roots, WAKE_CHANNEL])
      },
    },
    dags,
    options,
  )
}

/** The step runner: in this process, claiming rows on one connection and finishing each on a pool's. */
async function runStepsInProcess(dags: Record<Shape, Dag>, options: BaselineOptions, slots: number): Promise<{ stop(): Promise<void> }> {
  const limits = baselineLimits(options.statementTimeoutMs)
  const steps = openPool(options.databaseUrl, 'minimal chain steps', limits, { max: slots })
  const claimer = newClient(options.databaseUrl, 'minimal chain claimer', limits)
  const listener = newClient(options.databaseUrl, 'minimal chain listener', limits)
  const report = (err: Error) => console.error(`[minimal chain] ${err.message}`)
  steps.on('error', report)
  claimer.on('error', report)
  listener.on('error', report)
  type Claimed = { id: string; message: StepMessage }
  const loop = claimLoop<Claimed>({
    slots,
    claim: async (free) => (await claimer.query<Claimed>(CLAIM, [free])).rows,
    async run({ message }) {
      const dag = dags[message.d]
      if (!dag) throw new Error(`a row names an unknown shape ${message.d}`)
      const client = await steps.connect()
      try {
        await finishMinimalStep(client, dag, message)
      } finally {
        client.release()
      }
    },
    report: (err, item) => report(item ? new Error(`step ${item.message.s} of task ${item.message.t}: ${err.message}`) : err),
  })
  const stop = async () => {
    loop.stop()
    await Promise.allSettled([listener.end(), claimer.end()])
    await steps.end()
  }
  try {
    await Promise.all([claimer.connect(), listener.connect()])
    listener.on('notification', loop.wake)
    await listener.query(`LISTEN ${WAKE_CHANNEL}`)
  } catch (err) {
    await stop().catch(() => {})
    throw err
  }
  return { stop }
}
