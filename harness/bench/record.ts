/**
 * Measurements that are not a Vitest bench: phases derived from traces, a load test's latencies.
 * recordSamples() puts them next to the bench results, so the same budget hooks check them and
 * the same reporter writes them. Call it inside the test (or its afterEach) with `ctx.task`.
 */
import type { RunnerTestCase } from 'vitest'
import { summarize, type LatencySummary } from '../results/percentiles.ts'
import { taskerMeta } from '../results/meta.ts'
import { retainSamples } from '../results/retained-samples.ts'

type TaskWithMeta = Pick<RunnerTestCase, 'meta'>

/**
 * Summarise `samples` (milliseconds) under `name` — the key its budgets are listed under in the
 * budget file. Recording the same name again in the same test replaces the earlier entry.
 */
export function recordSamples(
  task: TaskWithMeta,
  name: string,
  samples: readonly number[],
  extra?: Record<string, unknown>,
): LatencySummary {
  if (typeof name !== 'string' || name.trim() === '') throw new TypeError('recordSamples: name must be a non-empty string')
  let summary: LatencySummary
  try {
    summary = summarize(samples)
  } catch (err) {
    throw new RangeError(`recordSamples("${name}"): ${(err as Error).message}`)
  }
  const meta = taskerMeta(task)
  meta.measurements = meta.measurements.filter((m) => !(m.source === 'samples' && m.name === name))
  meta.measurements.push({ name, source: 'samples', summary, samples: retainSamples(samples), ...(extra ? { extra: plainJson(extra, `recordSamples("${name}")`) } : {}) })
  return summary
}

/** Attach fields (completion mode, poll interval, task ids…) to every result of this test. */
export function annotateResult(task: TaskWithMeta, extra: Record<string, unknown>): void {
  Object.assign(taskerMeta(task).annotations, plainJson(extra, 'annotateResult'))
}

/** A JSON copy: what the results file will hold, and safe to send from the worker. */
function plainJson(value: Record<string, unknown>, where: string): Record<string, unknown> {
  let text: string | undefined
  try {
    text = JSON.stringify(value)
  } catch (err) {
    throw new TypeError(`${where}: extra fields must be JSON-serialisable (${(err as Error).message})`)
  }
  const copy: unknown = text === undefined ? undefined : JSON.parse(text)
  if (typeof copy !== 'object' || copy === null || Array.isArray(copy)) {
    throw new TypeError(`${where}: extra fields must be an object such as { completion: 'event' }`)
  }
  return copy as Record<string, unknown>
}
