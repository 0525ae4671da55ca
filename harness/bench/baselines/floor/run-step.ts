/**
 * One floor step, in one statement (RUN_STEP: one round trip, one transaction): delete the
 * message (the exactly-once guard), count down the join children, send every child whose parents
 * are all done (and NOTIFY the workers), and for a task's last step NOTIFY its completion.
 * Nothing else is written: no states, no results table.
 */
import type pg from 'pg'
import { joins, sinks, stepOf, stepValue, type Dag } from '../dag.ts'
import { mergeTrails, type FloorCompletion, type FloorMessage } from './messages.ts'
import { COMPLETION_JOIN, DONE_CHANNEL, QUEUE, RUN_STEP, WAKE_CHANNEL } from './statements.ts'

export type StepOutcome = 'ran' | 'already done'

export async function runFloorStep(client: pg.ClientBase, dag: Dag, msgId: string, message: FloorMessage): Promise<StepOutcome> {
  const step = stepOf(dag, message.s)
  const value = stepValue(message.pv, message.in)
  // a join's message carries its parents' trails end to end: each ancestor once
  const trail = [...mergeTrails([message.tr]), step.name]
  const isJoin = (name: string) => stepOf(dag, name).parents.length > 1
  const lastSinks = sinks(dag).length
  const next = step.children.filter((c) => !isJoin(c)).map((c): FloorMessage => ({ ...message, s: c, pv: [value], tr: trail }))
  const counters = step.children.filter(isJoin)
  if (step.children.length === 0 && lastSinks > 1) counters.push(COMPLETION_JOIN)
  const completion: FloorCompletion | null = step.children.length === 0 && lastSinks === 1 ? { t: message.t, v: { [step.name]: value }, tr: trail } : null
  const { rows } = await client.query<{ deleted: boolean; arrived: number }>(RUN_STEP, [
    QUEUE,
    msgId,
    message.t,
    counters,
    value,
    JSON.stringify(trail),
    next.map((m) => JSON.stringify(m)),
    JSON.stringify({ t: message.t, d: message.d, in: message.in }),
    completion && JSON.stringify(completion),
    WAKE_CHANNEL,
    DONE_CHANNEL,
  ])
  const row = rows[0]
  if (!row?.deleted) return 'already done'
  // the counters are created with the task; one missing is a bug in the floor, said as such
  if (row.arrived !== counters.length) throw new Error(`task ${message.t}: ${counters.length - row.arrived} join counter(s) of ${step.name} missing`)
  return 'ran'
}

/** Join counters a new task starts with: each join step's parent count, and the sinks' when several. */
export function initialCounters(dag: Dag): { steps: string[]; remaining: number[] } {
  const counters = joins(dag).map((s) => ({ step: s.name, remaining: s.parents.length }))
  const lastSinks = sinks(dag).length
  if (lastSinks > 1) counters.push({ step: COMPLETION_JOIN, remaining: lastSinks })
  return { steps: counters.map((c) => c.step), remaining: counters.map((c) => c.remaining) }
}
