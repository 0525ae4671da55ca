/**
 * Reading a task's spans back, from a bench worker: the embedded receiver's query API, Jaeger or
 * Tempo, chosen by the TraceSettings the global setup provided. Exporters send spans in batches,
 * so a task's last spans can arrive a while after it completed: waitForTrace() polls until the
 * trace is complete or a bounded deadline passes, and then says what is missing rather than
 * guessing.
 */
import { analyseTask, type TaskBreakdown } from './breakdown.ts'
import { getJson } from './http-json.ts'
import { DEFAULT_SERVICES, jaegerServices, jaegerSpansFor } from './jaeger.ts'
import { joinTaskSpans, taskKeys } from './join.ts'
import { classifySpans } from '../../results/traces/phases.ts'
import { tempoSpansFor } from './tempo.ts'
import type { NormalisedSpan, TraceSettings } from '../../results/traces/types.ts'

/** Searches per key kind (task_uuid, step_uuid) when joining a task's spans: a bound, not a target. */
const MAX_JOIN_SEARCHES = 200

export interface WaitOptions {
  /** the task's step count or step names (see AnalyseOptions) */
  expectSteps?: number | readonly string[]
  /** give up this many ms after the call (default 10 000) */
  deadlineMs?: number
  /** or at this performance.now() instant, when several tasks share one deadline */
  until?: number
}

export interface TraceResult {
  spans: NormalisedSpan[]
  breakdown: TaskBreakdown
  /** how long waitForTrace waited for late spans */
  waitedMs: number
}

export interface TraceQuery {
  readonly mode: TraceSettings['mode']
  /** The spans of one task, as the backend has them now. */
  spansFor(correlationId: string): Promise<NormalisedSpan[]>
  /** Polls until the task's trace is complete or the deadline passes (then `breakdown.complete` is false). */
  waitForTrace(correlationId: string, options?: WaitOptions): Promise<TraceResult>
}

export interface TraceQueryOptions {
  /** per request (default 5 000 ms) */
  requestTimeoutMs?: number
  /** Jaeger services to search (default: those named tasker*, else tasker-orchestration and tasker-worker) */
  services?: readonly string[]
}

export function createTraceQuery(traces: TraceSettings, options: TraceQueryOptions = {}): TraceQuery {
  const timeoutMs = options.requestTimeoutMs ?? 5_000
  const base = traces.queryUrl?.replace(/\/+$/, '')
  if (traces.mode !== 'off' && !base) throw new Error(`trace mode ${traces.mode} has no queryUrl: was the run object provided by harness/main/traces/provide.ts?`)
  let services: Promise<readonly string[]> | undefined

  async function fetchSpans(value: string, key = 'correlation_id'): Promise<NormalisedSpan[]> {
    switch (traces.mode) {
      case 'off':
        throw new Error(`traces are off (${traces.reason}): there is nothing to query`)
      case 'embedded': {
        // the embedded receiver indexes correlation ids only; it serves the reference orchestrator,
        // whose phase spans all carry one
        if (key !== 'correlation_id') return []
        const body = (await getJson(`${base}/api/spans?${new URLSearchParams({ correlation_id: value })}`, timeoutMs)) as { spans?: NormalisedSpan[] }
        return body.spans ?? []
      }
      case 'jaeger':
        services ??= options.services ? Promise.resolve(options.services) : discoverServices(base!, timeoutMs)
        return jaegerSpansFor(base!, await services, value, timeoutMs, key)
      case 'tempo':
        return tempoSpansFor(base!, value, timeoutMs, key)
    }
  }

  async function spansFor(correlationId: string): Promise<NormalisedSpan[]> {
    // what one search returns is kept as is; a later search adds only spans not seen yet
    const all: NormalisedSpan[] = await fetchSpans(correlationId)
    const seen = new Set(all.map((s) => `${s.traceId}/${s.spanId}`))
    const add = (spans: NormalisedSpan[]) => {
      for (const s of spans) {
        const key = `${s.traceId}/${s.spanId}`
        if (!seen.has(key)) all.push(s)
        seen.add(key)
      }
    }
    // Where the phase spans do not all carry the correlation id (tasker-core: join.ts), follow the
    // task_uuids they name, then the step_uuids, each in a bounded number of searches.
    if (traces.mode !== 'embedded' && !classifySpans(all).some((p) => p.flavour === 'reference')) {
      const tasks = [...taskKeys(correlationId, all).taskUuids].slice(0, MAX_JOIN_SEARCHES)
      for (const task of tasks) add(await fetchSpans(task, 'task_uuid'))
      const steps = [...taskKeys(correlationId, all).stepUuids].slice(0, MAX_JOIN_SEARCHES)
      for (const step of steps) add(await fetchSpans(step, 'step_uuid'))
    }
    // The same rule as the embedded store: spans of the task's traces, minus other tasks' spans.
    return joinTaskSpans(correlationId, all).sort((a, b) => a.startMs - b.startMs)
  }

  return {
    mode: traces.mode,
    spansFor,
    async waitForTrace(correlationId, wait = {}) {
      const started = performance.now()
      const until = wait.until ?? started + (wait.deadlineMs ?? 10_000)
      let pause = 100
      for (let attempt = 0; ; attempt++) {
        const spans = await spansFor(correlationId)
        const breakdown = analyseTask(correlationId, spans, { expectSteps: wait.expectSteps })
        const now = performance.now()
        if (breakdown.complete || now + pause > until || attempt >= 1_000) {
          if (!breakdown.complete) breakdown.missing.push(`gave up waiting for late spans after ${Math.round(now - started)} ms`)
          return { spans, breakdown, waitedMs: Math.round(now - started) }
        }
        await new Promise((r) => setTimeout(r, pause))
        pause = Math.min(1_000, pause * 1.5)
      }
    },
  }
}

async function discoverServices(base: string, timeoutMs: number): Promise<readonly string[]> {
  const all = await jaegerServices(base, timeoutMs).catch(() => [] as string[])
  const tasker = all.filter((s) => /tasker/i.test(s))
  return tasker.length > 0 ? tasker : DEFAULT_SERVICES
}
