/**
 * What a correct baseline run of a DAG looks like from its completion, and the set-up and shape
 * runs the floor, peer and minimal-chain tests share.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { buildDag, expectedValues, joins, loadDags, SHAPES, sinks, type Dag } from '../../harness/bench/baselines/dag.ts'
import type { TaskCompletion } from '../../harness/bench/baselines/completion-listener.ts'
import type { Baseline } from '../../harness/bench/baselines/baseline.ts'
import type { Shape } from '../../harness/bench/tasker/workflows.ts'

export const INPUT = 6

/** Tasks each shape test starts at once, after three one at a time. */
export const TASKS_AT_ONCE = 12
/** Tasks each shape test runs in all. */
export const TASKS_PER_SHAPE = TASKS_AT_ONCE + 3

/** Join counters a baseline holds after itRunsEveryShape: one per join step of every task it ran. */
export function joinCountersAfterShapeRuns(dags: Record<Shape, Dag>): number {
  return TASKS_PER_SHAPE * SHAPES.reduce((n, shape) => n + joins(dags[shape]).length, 0)
}

/** The four E2E shapes' DAGs, from the suite's templates. */
export function loadE2eDags(): Record<Shape, Dag> {
  return loadDags(new URL('../../fixtures/templates/', import.meta.url).pathname)
}

/** A tree with two last steps (b and c both follow a): some baselines refuse it, the floor waits for both. */
export function twoSinkTree(): Dag {
  return buildDag('tree', [
    { name: 'a', dependencies: [] },
    { name: 'b', dependencies: ['a'] },
    { name: 'c', dependencies: ['a'] },
  ])
}

/** Starts a baseline in beforeAll and closes it in afterAll; the returned function gives the started one. */
export function useBaseline(start: () => Promise<Baseline>): () => Baseline {
  let baseline: Baseline | undefined
  beforeAll(async () => {
    baseline = await start()
  }, 120_000)
  afterAll(async () => {
    await baseline?.close()
  }, 60_000)
  return () => {
    if (!baseline) throw new Error('the baseline is not started (useBaseline registers its beforeAll in the describe block)')
    return baseline
  }
}

/**
 * One test per E2E shape: three tasks one at a time, then TASKS_AT_ONCE at once; every run is
 * correct (expectCorrectRun) and the tasks started together stay apart.
 */
export function itRunsEveryShape(baseline: () => Baseline, dags: Record<Shape, Dag>): void {
  it.each(SHAPES)('%s: tasks one at a time and all at once, every step once and in dependency order', async (shape: Shape) => {
    const dag = dags[shape]
    for (let i = 0; i < 3; i++) {
      const sample = await baseline().runTask(shape, 30_000)
      expect(sample.ms).toBeGreaterThan(0)
      expectCorrectRun(dag, sample.completion)
    }
    const together = await Promise.all(Array.from({ length: TASKS_AT_ONCE }, () => baseline().runTask(shape, 60_000)))
    for (const sample of together) expectCorrectRun(dag, sample.completion)
    expect(new Set(together.map((s) => s.completion.t)).size).toBe(TASKS_AT_ONCE)
  }, 120_000)
}

/** Every step once, each after all its parents; the sink's value as computed without a queue. */
export function expectCorrectRun(dag: Dag, completion: TaskCompletion): void {
  expect([...completion.tr].sort()).toEqual(dag.steps.map((s) => s.name).sort())
  for (const step of dag.steps) {
    for (const parent of step.parents) expect(completion.tr.indexOf(parent), `${parent} before ${step.name}`).toBeLessThan(completion.tr.indexOf(step.name))
  }
  const last = sinks(dag)
  if (last.length === 1) expect(completion.v).toEqual({ [last[0]!.name]: expectedValues(dag, INPUT)[last[0]!.name] })
}
