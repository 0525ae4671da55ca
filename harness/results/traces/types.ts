/**
 * The shapes the trace side of the suite passes around. Everything here is plain JSON: spans
 * cross from the receiver (main process) to the bench workers over HTTP, and TraceSettings is
 * `provide()`d to the workers.
 */

/** An attribute value after decoding: OTLP's AnyValue without its wrapper. */
export type AttributeValue = string | number | boolean | null | AttributeValue[] | { [key: string]: AttributeValue }

export type Attributes = Record<string, AttributeValue>

export interface SpanEvent {
  name: string
  /** Unix epoch milliseconds, microsecond resolution */
  timeMs: number
  attributes: Attributes
}

/** One span, whatever wire format or backend it came from. */
export interface NormalisedSpan {
  /** 32 lowercase hex digits */
  traceId: string
  /** 16 lowercase hex digits */
  spanId: string
  /** undefined for a root span */
  parentSpanId: string | undefined
  name: string
  /** OTLP SpanKind: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer */
  kind: number
  /** resource attribute service.name ('unknown_service' when absent) */
  service: string
  /** Unix epoch milliseconds, microsecond resolution (enough for the phases measured here) */
  startMs: number
  endMs: number
  durationMs: number
  attributes: Attributes
  /** the resource's attributes (service.instance.id, host, process…), kept for the worker id */
  resource: Attributes
  events: SpanEvent[]
  /** OTLP StatusCode: 0 unset, 1 ok, 2 error */
  status: { code: number; message?: string }
}

export type TraceMode = 'embedded' | 'jaeger' | 'tempo' | 'off'

/**
 * Where spans go and how bench workers read them back; `provide()`d inside the run object.
 * - embedded: the suite's own OTLP/HTTP receiver in the main process (otlpEndpoint and queryUrl set)
 * - jaeger / tempo: an existing backend at queryUrl; the orchestrator exports to it on its own
 * - off: no breakdown (reason says why)
 */
export interface TraceSettings {
  mode: TraceMode
  /** one line: why this mode */
  reason: string
  /** base URL for OTEL_EXPORTER_OTLP_ENDPOINT (the exporter appends /v1/traces) */
  otlpEndpoint?: string
  /** embedded: the receiver's base URL (GET /api/spans); jaeger: the query service; tempo: its HTTP API */
  queryUrl?: string
}
