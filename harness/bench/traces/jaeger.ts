/**
 * Jaeger's query API (the one its UI uses; http://host:16686): find a task's traces by the
 * correlation_id tag (or task_uuid / step_uuid, see join.ts), one search per service, and convert
 * Jaeger's span JSON to NormalisedSpan.
 *
 *   GET /api/services                                  → {"data": ["tasker-worker", …]}
 *   GET /api/traces?service=S&tags={"correlation_id":"…"}&start=µs&end=µs&limit=n
 *                                                      → {"data": [{traceID, spans, processes}]}
 * A search returns whole traces, spans of every service included.
 */
import { getJson } from './http-json.ts'
import type { Attributes, AttributeValue, NormalisedSpan } from '../../results/traces/types.ts'

interface JaegerTag {
  key: string
  type?: string
  value: unknown
}

interface JaegerSpan {
  traceID: string
  spanID: string
  operationName: string
  references?: { refType?: string; traceID?: string; spanID?: string }[]
  /** microseconds since the epoch */
  startTime: number
  /** microseconds */
  duration: number
  tags?: JaegerTag[]
  logs?: { timestamp: number; fields?: JaegerTag[] }[]
  processID?: string
}

interface JaegerTrace {
  traceID: string
  spans?: JaegerSpan[]
  processes?: Record<string, { serviceName?: string; tags?: JaegerTag[] }>
}

export const DEFAULT_SERVICES = ['tasker-orchestration', 'tasker-worker'] as const

const KINDS: Record<string, number> = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 }

export async function jaegerServices(baseUrl: string, timeoutMs: number): Promise<string[]> {
  const body = (await getJson(`${baseUrl}/api/services`, timeoutMs)) as { data?: unknown }
  return Array.isArray(body.data) ? body.data.filter((s): s is string => typeof s === 'string') : []
}

/** The traces holding a span with this tag (correlation_id by default; task_uuid, step_uuid for the join). */
export async function jaegerSpansFor(
  baseUrl: string,
  services: readonly string[],
  value: string,
  timeoutMs: number,
  key = 'correlation_id',
): Promise<NormalisedSpan[]> {
  const end = Date.now() * 1000 + 60_000_000
  const start = end - 6 * 3600 * 1_000_000
  const tags = JSON.stringify({ [key]: value })
  const bySpanId = new Map<string, NormalisedSpan>()
  for (const service of services) {
    const query = new URLSearchParams({ service, tags, start: String(start), end: String(end), limit: '20' })
    const body = (await getJson(`${baseUrl}/api/traces?${query}`, timeoutMs)) as { data?: JaegerTrace[] | null }
    for (const trace of body.data ?? []) {
      for (const span of normaliseJaegerTrace(trace)) bySpanId.set(`${span.traceId}/${span.spanId}`, span)
    }
  }
  return [...bySpanId.values()]
}

export function normaliseJaegerTrace(trace: JaegerTrace): NormalisedSpan[] {
  const processes = trace.processes ?? {}
  return (trace.spans ?? []).map((s) => {
    const tags = jaegerAttributes(s.tags)
    const process = s.processID ? processes[s.processID] : undefined
    const resource = jaegerAttributes(process?.tags)
    const service = process?.serviceName ?? 'unknown_service'
    resource['service.name'] = service
    const parent = (s.references ?? []).find((r) => r.refType === 'CHILD_OF' && r.spanID) ?? (s.references ?? [])[0]
    const startMs = s.startTime / 1000
    const statusTag = tags['otel.status_code']
    const code = statusTag === 'ERROR' || tags['error'] === true ? 2 : statusTag === 'OK' ? 1 : 0
    const statusMessage = tags['otel.status_description']
    const kind = KINDS[String(tags['span.kind'] ?? '')] ?? 0
    for (const key of ['span.kind', 'otel.status_code', 'otel.status_description', 'error', 'internal.span.format']) delete tags[key]
    return {
      traceId: padHex(s.traceID, 32),
      spanId: padHex(s.spanID, 16),
      parentSpanId: parent?.spanID ? padHex(parent.spanID, 16) : undefined,
      name: s.operationName,
      kind,
      service,
      startMs,
      endMs: (s.startTime + s.duration) / 1000,
      durationMs: s.duration / 1000,
      attributes: tags,
      resource,
      events: (s.logs ?? []).map((log) => {
        const fields = jaegerAttributes(log.fields)
        const name = typeof fields['event'] === 'string' ? fields['event'] : ''
        delete fields['event']
        return { name, timeMs: log.timestamp / 1000, attributes: fields }
      }),
      status: { code, ...(typeof statusMessage === 'string' ? { message: statusMessage } : {}) },
    }
  })
}

function jaegerAttributes(tags: JaegerTag[] | undefined): Attributes {
  const out: Attributes = {}
  for (const t of tags ?? []) out[t.key] = t.value as AttributeValue
  return out
}

const padHex = (id: string, length: number): string => id.toLowerCase().padStart(length, '0')
