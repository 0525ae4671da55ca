/**
 * One floor step, in one transaction: delete the message (the exactly-once guard), count down the
 * join children, send every child whose parents are all done (and NOTIFY the workers), and for
 * a task's last step NOTIFY its completion. Nothing else is written: no states, no results table.
 * A step without join children is a single statement (RUN_SIMPLE_STEP): one round trip.
 */
import type pg from 'pg'
import { joins, sinks, stepOf, stepValue, type Dag } from '../dag.ts'
import { mergeTrails, type FloorCompletion, type FloorMessage } from './messages.ts'
import { ARRIVE_AT_JOINS, COMPLETION_JOIN, DELETE, DONE_CHANNEL, NOTIFY_DONE, QUEUE, RUN_SIMPLE_STEP, SEND_AND_WAKE, WAKE_CHANNEL } from './statements.ts'

export type StepOutcome = 'ran' | 'already done'

interface JoinRow {
  step: string
  remaining: number
  parent_values: number[]
  trail: string[]
}

export async function runFloorStep(client: pg.ClientBase, dag: Dag, msgId: string, message: FloorMessage): Promise<StepOutcome> {
  const step = stepOf(dag, message.s)
  const value = stepValue(message.pv, message.in)
  const trail = [...message.tr, step.name]
  const isJoin = (name: string) => stepOf(dag, name).parents.length > 1
  const lastSinks = sinks(dag).length
  if (!step.children.some(isJoin) && (step.children.length > 0 || lastSinks === 1)) {
    const next = step.children.map((c): FloorMessage => ({ ...message, s: c, pv: [value], tr: trail }))
    const completion: FloorCompletion | null = step.children.length === 0 ? { t: message.t, v: { [step.name]: value }, tr: trail } : null
    const { rows } = await client.query<{ deleted: boolean }>(RUN_SIMPLE_STEP, [
      QUEUE,
      msgId,
      next.map((m) => JSON.stringify(m)),
      WAKE_CHANNEL,
      completion && JSON.stringify(completion),
      DONE_CHANNEL,
    ])
    return rows[0]?.deleted ? 'ran' : 'already done'
  }
  await client.query('BEGIN')
  try {
    const deleted = await client.query<{ deleted: boolean }>(DELETE, [QUEUE, msgId])
    if (!deleted.rows[0]?.deleted) {
      await client.query('ROLLBACK')
      return 'already done'
    }
    const next: FloorMessage[] = step.children.filter((c) => !isJoin(c)).map((c) => ({ ...message, s: c, pv: [value], tr: trail }))
    const counters = step.children.filter(isJoin)
    if (step.children.length === 0 && lastSinks > 1) counters.push(COMPLETION_JOIN)
    let completion: FloorCompletion | undefined = step.children.length === 0 && lastSinks === 1 ? { t: message.t, v: { [step.name]: value }, tr: trail } : undefined
    if (counters.length > 0) {
      const arrived = await client.query<JoinRow>(ARRIVE_AT_JOINS, [message.t, counters, value, JSON.stringify(trail)])
      if (arrived.rowCount !== counters.length) throw new Error(`task ${message.t}: ${counters.length - (arrived.rowCount ?? 0)} join counter(s) of ${step.name} missing`)
      for (const row of arrived.rows.filter((r) => r.remaining === 0)) {
        if (row.step === COMPLETION_JOIN) completion = { t: message.t, v: {}, tr: mergeTrails([row.trail]) }
        else next.push({ ...message, s: row.step, pv: row.parent_values, tr: mergeTrails([row.trail]) })
      }
    }
    if (next.length > 0) await client.query(SEND_AND_WAKE, [QUEUE, next.map((m) => JSON.stringify(m)), WAKE_CHANNEL])
    if (completion) await client.query(NOTIFY_DONE, [DONE_CHANNEL, JSON.stringify(completion)])
    await client.query('COMMIT')
    return 'ran'
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {})
    throw err
  }
}

/** Join counters a new task starts with: each join step's parent count, and the sinks' when several. */
export function initialCounters(dag: Dag): { steps: string[]; remaining: number[] } {
  const counters = joins(dag).map((s) => ({ step: s.name, remaining: s.parents.length }))
  const lastSinks = sinks(dag).length
  if (lastSinks > 1) counters.push({ step: COMPLETION_JOIN, remaining: lastSinks })
  return { steps: counters.map((c) => c.step), remaining: counters.map((c) => c.remaining) }
}
