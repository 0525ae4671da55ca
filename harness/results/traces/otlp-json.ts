/**
 * OTLP trace data in its JSON form (the OTLP/HTTP JSON encoding of ExportTraceServiceRequest)
 * and its normalisation into NormalisedSpan. The protobuf decoder produces the same form, and
 * Tempo's trace API answers in it, so this is the one place that interprets OTLP fields.
 *
 * Tolerated variations, all seen in the wild:
 * - trace and span ids in hex (the OTLP JSON rule) or base64 (proto3's default JSON mapping, Tempo)
 * - 64-bit integers and timestamps as decimal strings or numbers
 * - enums as integers (OTLP) or names (`SPAN_KIND_SERVER`, `STATUS_CODE_ERROR`)
 * - `batches` for `resourceSpans` and `instrumentationLibrarySpans` for `scopeSpans` (older Tempo)
 */
import type { AttributeValue, Attributes, NormalisedSpan, SpanEvent } from './types.ts'

export interface OtlpAnyValue {
  stringValue?: string
  boolValue?: boolean
  intValue?: string | number
  doubleValue?: number | string
  arrayValue?: { values?: OtlpAnyValue[] }
  kvlistValue?: { values?: OtlpKeyValue[] }
  bytesValue?: string
}

export interface OtlpKeyValue {
  key: string
  value?: OtlpAnyValue
}

export interface OtlpEvent {
  timeUnixNano?: string | number
  name?: string
  attributes?: OtlpKeyValue[]
}

export interface OtlpSpan {
  traceId?: string
  spanId?: string
  parentSpanId?: string
  name?: string
  kind?: number | string
  startTimeUnixNano?: string | number
  endTimeUnixNano?: string | number
  attributes?: OtlpKeyValue[]
  events?: OtlpEvent[]
  status?: { code?: number | string; message?: string }
}

export interface OtlpScopeSpans {
  scope?: { name?: string; version?: string }
  spans?: OtlpSpan[]
}

export interface OtlpResourceSpans {
  resource?: { attributes?: OtlpKeyValue[] }
  scopeSpans?: OtlpScopeSpans[]
  instrumentationLibrarySpans?: OtlpScopeSpans[]
}

export interface OtlpTraceRequest {
  resourceSpans?: OtlpResourceSpans[]
  /** Tempo's name for resourceSpans */
  batches?: OtlpResourceSpans[]
}

export class OtlpFormatError extends Error {
  override name = 'OtlpFormatError'
}

export interface NormaliseResult {
  spans: NormalisedSpan[]
  /** spans left out because an id or the name was missing or malformed */
  rejected: number
  /** the first rejection's reason, for the partial-success message */
  firstError: string | undefined
}

const SPAN_KINDS: Record<string, number> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
}
const STATUS_CODES: Record<string, number> = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 }

/** Every span of an export request (or a Tempo trace), normalised; malformed spans are counted, not fatal. */
export function normaliseTraceRequest(request: unknown): NormaliseResult {
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    throw new OtlpFormatError('an OTLP trace request must be a JSON object with resourceSpans')
  }
  const body = request as OtlpTraceRequest
  const resourceSpans = body.resourceSpans ?? body.batches ?? []
  if (!Array.isArray(resourceSpans)) throw new OtlpFormatError('resourceSpans must be an array')
  const result: NormaliseResult = { spans: [], rejected: 0, firstError: undefined }
  for (const rs of resourceSpans) {
    const resource = decodeAttributes(rs?.resource?.attributes)
    const service = typeof resource['service.name'] === 'string' ? resource['service.name'] : 'unknown_service'
    const scopes = rs?.scopeSpans ?? rs?.instrumentationLibrarySpans ?? []
    if (!Array.isArray(scopes)) throw new OtlpFormatError('scopeSpans must be an array')
    for (const scope of scopes) {
      const spans = scope?.spans ?? []
      if (!Array.isArray(spans)) throw new OtlpFormatError('spans must be an array')
      for (const span of spans) {
        try {
          result.spans.push(normaliseSpan(span, service, resource))
        } catch (err) {
          result.rejected++
          result.firstError ??= (err as Error).message
        }
      }
    }
  }
  return result
}

function normaliseSpan(span: OtlpSpan, service: string, resource: Attributes): NormalisedSpan {
  const traceId = decodeId(span.traceId, 16, 'traceId')
  const spanId = decodeId(span.spanId, 8, 'spanId')
  if (!traceId || !spanId) throw new OtlpFormatError(`span ${JSON.stringify(span.name ?? '')} has no ${traceId ? 'spanId' : 'traceId'}`)
  const parent = decodeId(span.parentSpanId, 8, 'parentSpanId')
  if (typeof span.name !== 'string' || span.name === '') throw new OtlpFormatError(`span ${spanId} has no name`)
  const startMs = nanosToMs(span.startTimeUnixNano, 'startTimeUnixNano')
  const endMs = nanosToMs(span.endTimeUnixNano, 'endTimeUnixNano')
  const events: SpanEvent[] = (span.events ?? []).map((e) => ({
    name: String(e.name ?? ''),
    timeMs: nanosToMs(e.timeUnixNano, 'event timeUnixNano'),
    attributes: decodeAttributes(e.attributes),
  }))
  const statusMessage = span.status?.message
  return {
    traceId,
    spanId,
    parentSpanId: parent && !/^0+$/.test(parent) ? parent : undefined,
    name: span.name,
    kind: enumValue(span.kind, SPAN_KINDS),
    service,
    startMs,
    endMs,
    durationMs: roundMicros(endMs - startMs),
    attributes: decodeAttributes(span.attributes),
    resource,
    events,
    status: { code: enumValue(span.status?.code, STATUS_CODES), ...(statusMessage ? { message: statusMessage } : {}) },
  }
}

/**
 * An id as lowercase hex: hex input is taken as is; anything else is read as base64. Returns
 * undefined for an absent or empty id; throws when the length is wrong.
 */
export function decodeId(raw: unknown, bytes: number, what: string): string | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined
  if (typeof raw !== 'string') throw new OtlpFormatError(`${what} must be a string (got ${typeof raw})`)
  if (raw.length === bytes * 2 && /^[0-9a-fA-F]+$/.test(raw)) return raw.toLowerCase()
  const decoded = Buffer.from(raw, 'base64')
  if (decoded.length !== bytes) throw new OtlpFormatError(`${what} ${JSON.stringify(raw)} is neither ${bytes * 2} hex digits nor base64 of ${bytes} bytes`)
  return decoded.toString('hex')
}

/** Unix nanoseconds (string or number) → epoch milliseconds with microsecond resolution. */
export function nanosToMs(raw: unknown, what: string): number {
  if (typeof raw === 'number' && Number.isFinite(raw)) return roundMicros(raw / 1e6)
  if (typeof raw === 'string' && /^\d+$/.test(raw)) return Number(BigInt(raw) / 1000n) / 1000
  if (raw === undefined) throw new OtlpFormatError(`${what} is missing`)
  throw new OtlpFormatError(`${what} ${JSON.stringify(raw)} is not a number of nanoseconds`)
}

const roundMicros = (ms: number): number => Math.round(ms * 1000) / 1000

function enumValue(raw: unknown, names: Record<string, number>): number {
  if (typeof raw === 'number') return raw
  if (typeof raw === 'string') return names[raw] ?? (/^\d+$/.test(raw) ? Number(raw) : 0)
  return 0
}

export function decodeAttributes(list: OtlpKeyValue[] | undefined): Attributes {
  const out: Attributes = {}
  if (!Array.isArray(list)) return out
  for (const kv of list) {
    if (kv && typeof kv.key === 'string') out[kv.key] = decodeAnyValue(kv.value)
  }
  return out
}

function decodeAnyValue(v: OtlpAnyValue | undefined): AttributeValue {
  if (!v || typeof v !== 'object') return null
  if (v.stringValue !== undefined) return v.stringValue
  if (v.boolValue !== undefined) return Boolean(v.boolValue)
  if (v.intValue !== undefined) {
    const n = typeof v.intValue === 'number' ? v.intValue : Number(v.intValue)
    return Number.isSafeInteger(n) ? n : String(v.intValue)
  }
  if (v.doubleValue !== undefined) return Number(v.doubleValue)
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(decodeAnyValue)
  if (v.kvlistValue !== undefined) return decodeAttributes(v.kvlistValue.values)
  if (v.bytesValue !== undefined) return v.bytesValue
  return null
}
