/** What a correct baseline run of a DAG looks like from its completion (floor and peer tests). */
import { expect } from 'vitest'
import { expectedValues, sinks, type Dag } from '../../harness/bench/baselines/dag.ts'
import type { TaskCompletion } from '../../harness/bench/baselines/completion-listener.ts'

export const INPUT = 6

/** Every step once, each after all its parents; the sink's value as computed without a queue. */
export function expectCorrectRun(dag: Dag, completion: TaskCompletion): void {
  expect([...completion.tr].sort()).toEqual(dag.steps.map((s) => s.name).sort())
  for (const step of dag.steps) {
    for (const parent of step.parents) expect(completion.tr.indexOf(parent), `${parent} before ${step.name}`).toBeLessThan(completion.tr.indexOf(step.name))
  }
  const last = sinks(dag)
  if (last.length === 1) expect(completion.v).toEqual({ [last[0]!.name]: expectedValues(dag, INPUT)[last[0]!.name] })
}
