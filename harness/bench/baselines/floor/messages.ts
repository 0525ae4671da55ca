/**
 * What one floor message carries: the task, the step, and the step's inputs — so a worker needs
 * nothing but the message (and the DAG) to run it. `tr`, the trail, lists the steps that ran
 * before this one on the way to it (its ancestors, each once): the correctness test reads the
 * dependency order from the completion's trail.
 */
import type { Shape } from '../../tasker/workflows.ts'

export interface FloorMessage {
  /** task id (uuid) */
  t: string
  /** the task's shape: which DAG */
  d: Shape
  /** the step to run */
  s: string
  /** the task's input (the context's even_number) */
  in: number
  /** the parents' values (none for a root) */
  pv: number[]
  tr: string[]
}

/** The completion notification's payload. */
export type { TaskCompletion as FloorCompletion } from '../completion-listener.ts'

/** Each name once, in the order first seen: the merged trails of a join's parents. */
export function mergeTrails(trails: readonly (readonly string[])[]): string[] {
  const seen = new Set<string>()
  for (const trail of trails) for (const step of trail) seen.add(step)
  return [...seen]
}
