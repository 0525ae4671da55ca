/**
 * The one call an end-to-end bench makes after a scenario: read every sample's trace (by
 * correlation id), break it down, print the table, record each phase's samples under
 * `<scenario>: <phase>` (so budgets such as `linear: worker.claim: p(95)<5` apply and the results
 * file holds them), and annotate the result with the JSON summary.
 *
 *   await reportBreakdown(task, 'linear', records, run.traces, { expectSteps: workflow.steps.length })
 */
import type { RunnerTestCase } from 'vitest'
import { recordSamples } from '../record.ts'
import { taskerMeta } from '../../results/meta.ts'
import { aggregateBreakdowns, PHASE_ORDER, type ScenarioBreakdown, type SampleWithBreakdown } from './aggregate.ts'
import { formatBreakdown } from './format.ts'
import { createTraceQuery, type TraceQuery } from './query.ts'
import type { TraceSettings } from '../../results/traces/types.ts'

/** What the e2e bench keeps per sample (harness/bench/tasker/samples.ts SampleRecord fits). */
export interface BreakdownRecord {
  task_uuid: string
  correlation_id: string
  /** client-observed end-to-end milliseconds */
  ms: number
}

export interface ReportOptions {
  /** step count or step names of the scenario's workflow: fewer traced steps = incomplete trace */
  expectSteps?: number | readonly string[]
  /** how long, in all, to wait for late spans (default 15 000 ms; the exporters batch) */
  deadlineMs?: number
  /** traces read at once (default 4) */
  concurrency?: number
  print?: (text: string) => void
  /** for tests: a query other than the one built from `traces` */
  query?: TraceQuery
}

type TaskLike = Pick<RunnerTestCase, 'meta'>

export async function reportBreakdown(
  task: TaskLike,
  scenario: string,
  records: readonly BreakdownRecord[],
  traces: TraceSettings,
  options: ReportOptions = {},
): Promise<ScenarioBreakdown | undefined> {
  const print = options.print ?? ((text: string) => console.log(text))
  if (traces.mode === 'off') {
    print(`[traces] ${scenario}: no worker-level breakdown (${traces.reason})`)
    annotate(task, scenario, { mode: 'off', reason: traces.reason })
    return undefined
  }
  if (records.length === 0) {
    print(`[traces] ${scenario}: no samples to break down`)
    return undefined
  }
  const query = options.query ?? createTraceQuery(traces)
  let items: SampleWithBreakdown[]
  try {
    items = await readAll(query, records, options)
  } catch (err) {
    const message = `could not read traces from ${traces.mode} (${(err as Error).message})`
    annotate(task, scenario, { mode: traces.mode, error: message })
    // Our own receiver failing is a bug worth a red test; an external backend's outage is not the bench's.
    if (traces.mode === 'embedded') throw new Error(`[traces] ${scenario}: ${message}`, { cause: err })
    print(`[traces] ${scenario}: ${message}`)
    return undefined
  }
  const { summary, samples } = aggregateBreakdowns(scenario, items)
  print(formatBreakdown(summary))
  for (const phase of PHASE_ORDER) {
    const list = samples[phase]
    if (list && list.length > 0) recordSamples(task, `${scenario}: ${phase}`, list, { source: 'traces', phase, traceMode: traces.mode })
  }
  annotate(task, scenario, { mode: traces.mode, ...summary })
  return summary
}

async function readAll(query: TraceQuery, records: readonly BreakdownRecord[], options: ReportOptions): Promise<SampleWithBreakdown[]> {
  const until = performance.now() + (options.deadlineMs ?? 15_000)
  const out: SampleWithBreakdown[] = new Array(records.length)
  let next = 0
  const worker = async () => {
    while (next < records.length) {
      const i = next++
      const record = records[i]!
      const { breakdown } = await query.waitForTrace(record.correlation_id, { expectSteps: options.expectSteps, until })
      breakdown.taskUuid ??= record.task_uuid
      out[i] = { ms: record.ms, breakdown }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 4, records.length)) }, worker))
  return out
}

/** Results of one test keep one summary per scenario under `traceBreakdown`. */
function annotate(task: TaskLike, scenario: string, value: Record<string, unknown>): void {
  const annotations = taskerMeta(task).annotations
  const previous = (annotations.traceBreakdown ?? {}) as Record<string, unknown>
  annotations.traceBreakdown = JSON.parse(JSON.stringify({ ...previous, [scenario]: value })) as Record<string, unknown>
}
