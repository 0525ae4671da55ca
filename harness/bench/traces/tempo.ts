/**
 * Grafana Tempo's HTTP API (http://host:3200): search for the traces that have a span with the
 * correlation_id, then fetch each trace. Tempo answers a trace in the OTLP JSON form (with base64
 * ids, `batches` in older versions), which otlp-json.ts normalises.
 *
 *   GET /api/search?q={ span.correlation_id = "…" }&start=s&end=s&limit=n   (TraceQL, Tempo ≥ 2)
 *   GET /api/search?tags=correlation_id=…                                   (older Tempo)
 *   GET /api/traces/<traceID>                                               → {batches|resourceSpans}
 */
import { getJson, TraceBackendError } from './http-json.ts'
import { normaliseTraceRequest } from '../../results/traces/otlp-json.ts'
import type { NormalisedSpan } from '../../results/traces/types.ts'

/** The traces holding a span with this attribute (correlation_id by default; task_uuid, step_uuid for the join). */
export async function tempoSpansFor(baseUrl: string, correlationId: string, timeoutMs: number, key = 'correlation_id'): Promise<NormalisedSpan[]> {
  if (!/^[A-Za-z0-9_.:-]+$/.test(correlationId)) throw new TypeError(`${key} ${JSON.stringify(correlationId)} has characters a TraceQL string cannot safely hold`)
  if (!/^[a-z_.]+$/.test(key)) throw new TypeError(`attribute ${JSON.stringify(key)} is not a plain attribute name`)
  const end = Math.ceil(Date.now() / 1000) + 60
  const start = end - 6 * 3600
  const range = { start: String(start), end: String(end), limit: '20' }
  let found: { traces?: { traceID?: string }[] }
  try {
    const q = new URLSearchParams({ q: `{ span.${key} = "${correlationId}" }`, ...range })
    found = (await getJson(`${baseUrl}/api/search?${q}`, timeoutMs)) as typeof found
  } catch (err) {
    if (!(err instanceof TraceBackendError) || err.status !== 400) throw err
    const q = new URLSearchParams({ tags: `${key}=${correlationId}`, ...range })
    found = (await getJson(`${baseUrl}/api/search?${q}`, timeoutMs)) as typeof found
  }
  const spans: NormalisedSpan[] = []
  for (const { traceID } of found.traces ?? []) {
    if (!traceID || !/^[0-9a-fA-F]+$/.test(traceID)) continue
    const body = (await getJson(`${baseUrl}/api/traces/${traceID}`, timeoutMs)) as Record<string, unknown>
    const trace = (body.trace as Record<string, unknown> | undefined) ?? body // /api/v2 wraps it in {trace}
    spans.push(...normaliseTraceRequest(trace).spans)
  }
  return spans
}
