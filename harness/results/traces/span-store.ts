/**
 * The embedded receiver's memory: spans in arrival order, bounded (the oldest are dropped first,
 * with one warning), indexed by trace id and by correlation id.
 *
 * Looking up a correlation id returns every span of every trace in which some span carries that
 * correlation_id, so child spans without the attribute (a database query inside `step.claim`) come
 * along; a span in such a trace that names a *different* correlation id is left out, so a trace
 * shared by several tasks (a batch poll) does not leak other tasks' spans into this one's breakdown.
 */
import type { NormalisedSpan } from './types.ts'

export const DEFAULT_MAX_SPANS = 500_000

export interface SpanStoreStats {
  spans: number
  traces: number
  correlationIds: number
  received: number
  dropped: number
  maxSpans: number
}

export interface SpanStore {
  add(spans: readonly NormalisedSpan[]): void
  byCorrelationId(correlationId: string): NormalisedSpan[]
  byTraceId(traceId: string): NormalisedSpan[]
  stats(): SpanStoreStats
  clear(): void
}

export interface SpanStoreOptions {
  maxSpans?: number
  /** called once, when the first span is dropped */
  warn?: (line: string) => void
}

export function correlationIdOf(span: NormalisedSpan): string | undefined {
  const v = span.attributes['correlation_id'] ?? span.attributes['tasker.correlation_id']
  return typeof v === 'string' && v !== '' ? v : undefined
}

export function createSpanStore(options: SpanStoreOptions = {}): SpanStore {
  const maxSpans = options.maxSpans ?? DEFAULT_MAX_SPANS
  if (!Number.isSafeInteger(maxSpans) || maxSpans < 1) throw new RangeError(`maxSpans=${maxSpans} must be a positive integer`)
  const warn = options.warn ?? ((line: string) => console.warn(line))

  // A ring buffer: `ring[(head + i) % maxSpans]` is the i-th oldest span.
  let ring: (NormalisedSpan | undefined)[] = []
  let head = 0
  let size = 0
  let received = 0
  let dropped = 0
  let traces = new Map<string, NormalisedSpan[]>()
  let correlations = new Map<string, Set<string>>()
  // the reverse index, so emptying a trace does not scan every correlation id
  let traceCorrelations = new Map<string, Set<string>>()

  function evictOldest(): void {
    const span = ring[head]!
    ring[head] = undefined
    head = (head + 1) % maxSpans
    size--
    dropped++
    if (dropped === 1) {
      warn(
        `[traces] span buffer full (${maxSpans} spans): dropping the oldest; breakdowns of the earliest tasks may be incomplete`,
      )
    }
    const list = traces.get(span.traceId)
    if (!list) return
    // Spans of a trace are kept in arrival order too, so the evicted one is usually the first.
    const i = list.indexOf(span)
    if (i >= 0) list.splice(i, 1)
    if (list.length > 0) return
    traces.delete(span.traceId)
    for (const cid of traceCorrelations.get(span.traceId) ?? []) {
      const ids = correlations.get(cid)
      if (ids?.delete(span.traceId) && ids.size === 0) correlations.delete(cid)
    }
    traceCorrelations.delete(span.traceId)
  }

  return {
    add(spans) {
      for (const span of spans) {
        received++
        if (size === maxSpans) evictOldest()
        ring[(head + size) % maxSpans] = span
        size++
        let list = traces.get(span.traceId)
        if (!list) traces.set(span.traceId, (list = []))
        list.push(span)
        const cid = correlationIdOf(span)
        if (cid) {
          let ids = correlations.get(cid)
          if (!ids) correlations.set(cid, (ids = new Set()))
          ids.add(span.traceId)
          let cids = traceCorrelations.get(span.traceId)
          if (!cids) traceCorrelations.set(span.traceId, (cids = new Set()))
          cids.add(cid)
        }
      }
    },
    byCorrelationId(correlationId) {
      const out: NormalisedSpan[] = []
      for (const traceId of correlations.get(correlationId) ?? []) {
        for (const span of traces.get(traceId) ?? []) {
          const cid = correlationIdOf(span)
          if (cid === undefined || cid === correlationId) out.push(span)
        }
      }
      return out.sort((a, b) => a.startMs - b.startMs)
    },
    byTraceId(traceId) {
      return [...(traces.get(traceId) ?? [])].sort((a, b) => a.startMs - b.startMs)
    },
    stats() {
      return { spans: size, traces: traces.size, correlationIds: correlations.size, received, dropped, maxSpans }
    },
    clear() {
      ring = []
      head = 0
      size = 0
      traces = new Map()
      correlations = new Map()
      traceCorrelations = new Map()
    },
  }
}
