/**
 * What finishing one step hands on, computed alike by the floor and the minimal chain (each then
 * writes it in one statement of its own): the step's value and trail, the messages of its
 * single-parent children, its join children (whose counters the statement counts down) and, for a
 * task's only last step, the completion.
 */
import { sinks, stepOf, stepValue, type Dag, type DagStep } from './dag.ts'
import { mergeTrails, type FloorCompletion, type FloorMessage } from './floor/messages.ts'

export interface FinishedStep {
  step: DagStep
  /** children with several parents: their join counters count down */
  joinChildren: string[]
  /**
   * The parameters both finishing statements end with, in this order: the value, the trail, the
   * children's messages, the task's base message, the completion (or null), the wake and the done
   * channel.
   */
  tail: unknown[]
}

export function finishedStep(dag: Dag, message: FloorMessage, channels: { wake: string; done: string }): FinishedStep {
  const step = stepOf(dag, message.s)
  const value = stepValue(message.pv, message.in)
  // a join's message carries its parents' trails end to end: each ancestor once
  const trail = [...mergeTrails([message.tr]), step.name]
  const isJoin = (name: string) => stepOf(dag, name).parents.length > 1
  const next = step.children.filter((c) => !isJoin(c)).map((c): FloorMessage => ({ ...message, s: c, pv: [value], tr: trail }))
  const completion: FloorCompletion | null = step.children.length === 0 && sinks(dag).length === 1 ? { t: message.t, v: { [step.name]: value }, tr: trail } : null
  return {
    step,
    joinChildren: step.children.filter(isJoin),
    tail: [
      value,
      JSON.stringify(trail),
      next.map((m) => JSON.stringify(m)),
      JSON.stringify({ t: message.t, d: message.d, in: message.in }),
      completion && JSON.stringify(completion),
      channels.wake,
      channels.done,
    ],
  }
}
