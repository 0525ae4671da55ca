/**
 * One floor step, in one statement (RUN_STEP: one round trip, one transaction): delete the
 * message (the exactly-once guard), count down the join children, send every child whose parents
 * are all done (and NOTIFY the workers), and for a task's last step NOTIFY its completion.
 * Nothing else is written: no states, no results table.
 */
import type pg from 'pg'
import { joinCounters, sinks, type Dag } from '../dag.ts'
import { finishedStep } from '../finished-step.ts'
import type { FloorMessage } from './messages.ts'
import { COMPLETION_JOIN, DONE_CHANNEL, QUEUE, RUN_STEP, WAKE_CHANNEL } from './statements.ts'

export type StepOutcome = 'ran' | 'already done'

export async function runFloorStep(client: pg.ClientBase, dag: Dag, msgId: string, message: FloorMessage): Promise<StepOutcome> {
  const { step, joinChildren, tail } = finishedStep(dag, message, { wake: WAKE_CHANNEL, done: DONE_CHANNEL })
  const counters = [...joinChildren]
  // several last steps: each counts the task's completion join down, and the last one announces it
  if (step.children.length === 0 && sinks(dag).length > 1) counters.push(COMPLETION_JOIN)
  const { rows } = await client.query<{ deleted: boolean; arrived: number }>(RUN_STEP, [QUEUE, msgId, message.t, counters, ...tail])
  const row = rows[0]
  if (!row?.deleted) return 'already done'
  // the counters are created with the task; one missing is a bug in the floor, said as such
  if (row.arrived !== counters.length) throw new Error(`task ${message.t}: ${counters.length - row.arrived} join counter(s) of ${step.name} missing`)
  return 'ran'
}

/** Join counters a new task starts with: each join step's parent count, and the sinks' when several. */
export function initialCounters(dag: Dag): { steps: string[]; remaining: number[] } {
  const counters = joinCounters(dag)
  const lastSinks = sinks(dag).length
  return lastSinks > 1 ? { steps: [...counters.steps, COMPLETION_JOIN], remaining: [...counters.remaining, lastSinks] } : counters
}
