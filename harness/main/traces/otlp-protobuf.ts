/**
 * Decodes an OTLP/HTTP protobuf body (opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest)
 * into the OTLP JSON form of otlp-json.ts, so one normaliser serves both encodings. Only the fields
 * the breakdown needs are read; everything else is skipped by wire type. Field numbers are those of
 * the published opentelemetry-proto definitions:
 *
 *   ExportTraceServiceRequest  1 resource_spans (ResourceSpans, repeated)
 *   ResourceSpans              1 resource (Resource)       2 scope_spans (ScopeSpans, repeated)
 *   Resource                   1 attributes (KeyValue, repeated)
 *   ScopeSpans                 1 scope (InstrumentationScope: 1 name, 2 version)   2 spans (Span, repeated)
 *   Span                       1 trace_id (bytes)  2 span_id (bytes)  4 parent_span_id (bytes)  5 name
 *                              6 kind (enum)  7 start_time_unix_nano (fixed64)  8 end_time_unix_nano (fixed64)
 *                              9 attributes (KeyValue, repeated)  11 events (Event, repeated)  15 status (Status)
 *   Span.Event                 1 time_unix_nano (fixed64)  2 name  3 attributes (KeyValue, repeated)
 *   Status                     2 message  3 code (enum)
 *   KeyValue                   1 key  2 value (AnyValue)
 *   AnyValue (oneof)           1 string  2 bool  3 int (int64)  4 double  5 array (ArrayValue: 1 values)
 *                              6 kvlist (KeyValueList: 1 values)  7 bytes
 */
import type { OtlpAnyValue, OtlpEvent, OtlpKeyValue, OtlpResourceSpans, OtlpScopeSpans, OtlpSpan, OtlpTraceRequest } from '../../results/traces/otlp-json.ts'
import { expectWireType, ProtobufReader, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from './protobuf-wire.ts'

export function decodeExportTraceRequest(body: Uint8Array): OtlpTraceRequest {
  const reader = new ProtobufReader(body)
  const resourceSpans: OtlpResourceSpans[] = []
  for (let f = reader.nextField(); f; f = reader.nextField()) {
    if (f.number === 1) {
      expectWireType(f, WIRE_LEN, 'ExportTraceServiceRequest.resource_spans')
      resourceSpans.push(readResourceSpans(reader.message()))
    } else reader.skip(f.wireType)
  }
  return { resourceSpans }
}

function readResourceSpans(reader: ProtobufReader): OtlpResourceSpans {
  const out: OtlpResourceSpans = { resource: { attributes: [] }, scopeSpans: [] }
  for (let f = reader.nextField(); f; f = reader.nextField()) {
    if (f.number === 1) {
      expectWireType(f, WIRE_LEN, 'ResourceSpans.resource')
      const resource = reader.message()
      for (let g = resource.nextField(); g; g = resource.nextField()) {
        if (g.number === 1) {
          expectWireType(g, WIRE_LEN, 'Resource.attributes')
          out.resource!.attributes!.push(readKeyValue(resource.message()))
        } else resource.skip(g.wireType)
      }
    } else if (f.number === 2) {
      expectWireType(f, WIRE_LEN, 'ResourceSpans.scope_spans')
      out.scopeSpans!.push(readScopeSpans(reader.message()))
    } else reader.skip(f.wireType)
  }
  return out
}

function readScopeSpans(reader: ProtobufReader): OtlpScopeSpans {
  const out: OtlpScopeSpans = { spans: [] }
  for (let f = reader.nextField(); f; f = reader.nextField()) {
    if (f.number === 1) {
      expectWireType(f, WIRE_LEN, 'ScopeSpans.scope')
      const scope = reader.message()
      const s: { name?: string; version?: string } = {}
      for (let g = scope.nextField(); g; g = scope.nextField()) {
        if (g.number === 1 && g.wireType === WIRE_LEN) s.name = scope.string()
        else if (g.number === 2 && g.wireType === WIRE_LEN) s.version = scope.string()
        else scope.skip(g.wireType)
      }
      out.scope = s
    } else if (f.number === 2) {
      expectWireType(f, WIRE_LEN, 'ScopeSpans.spans')
      out.spans!.push(readSpan(reader.message()))
    } else reader.skip(f.wireType)
  }
  return out
}

function readSpan(reader: ProtobufReader): OtlpSpan {
  const span: OtlpSpan = { attributes: [], events: [] }
  for (let f = reader.nextField(); f; f = reader.nextField()) {
    switch (f.number) {
      case 1:
        expectWireType(f, WIRE_LEN, 'Span.trace_id')
        span.traceId = hex(reader.lengthDelimited())
        break
      case 2:
        expectWireType(f, WIRE_LEN, 'Span.span_id')
        span.spanId = hex(reader.lengthDelimited())
        break
      case 4:
        expectWireType(f, WIRE_LEN, 'Span.parent_span_id')
        span.parentSpanId = hex(reader.lengthDelimited())
        break
      case 5:
        expectWireType(f, WIRE_LEN, 'Span.name')
        span.name = reader.string()
        break
      case 6:
        expectWireType(f, WIRE_VARINT, 'Span.kind')
        span.kind = reader.uint32()
        break
      case 7:
        expectWireType(f, WIRE_FIXED64, 'Span.start_time_unix_nano')
        span.startTimeUnixNano = reader.fixed64().toString()
        break
      case 8:
        expectWireType(f, WIRE_FIXED64, 'Span.end_time_unix_nano')
        span.endTimeUnixNano = reader.fixed64().toString()
        break
      case 9:
        expectWireType(f, WIRE_LEN, 'Span.attributes')
        span.attributes!.push(readKeyValue(reader.message()))
        break
      case 11:
        expectWireType(f, WIRE_LEN, 'Span.events')
        span.events!.push(readEvent(reader.message()))
        break
      case 15:
        expectWireType(f, WIRE_LEN, 'Span.status')
        span.status = readStatus(reader.message())
        break
      default:
        reader.skip(f.wireType)
    }
  }
  return span
}

function readEvent(reader: ProtobufReader): OtlpEvent {
  const event: OtlpEvent = { timeUnixNano: '0', name: '', attributes: [] }
  for (let f = reader.nextField(); f; f = reader.nextField()) {
    if (f.number === 1) {
      expectWireType(f, WIRE_FIXED64, 'Event.time_unix_nano')
      event.timeUnixNano = reader.fixed64().toString()
    } else if (f.number === 2) {
      expectWireType(f, WIRE_LEN, 'Event.name')
      event.name = reader.string()
    } else if (f.number === 3) {
      expectWireType(f, WIRE_LEN, 'Event.attributes')
      event.attributes!.push(readKeyValue(reader.message()))
    } else reader.skip(f.wireType)
  }
  return event
}

function readStatus(reader: ProtobufReader): { code?: number; message?: string } {
  const status: { code?: number; message?: string } = {}
  for (let f = reader.nextField(); f; f = reader.nextField()) {
    if (f.number === 2 && f.wireType === WIRE_LEN) status.message = reader.string()
    else if (f.number === 3 && f.wireType === WIRE_VARINT) status.code = reader.uint32()
    else reader.skip(f.wireType)
  }
  return status
}

function readKeyValue(reader: ProtobufReader): OtlpKeyValue {
  const kv: OtlpKeyValue = { key: '' }
  for (let f = reader.nextField(); f; f = reader.nextField()) {
    if (f.number === 1) {
      expectWireType(f, WIRE_LEN, 'KeyValue.key')
      kv.key = reader.string()
    } else if (f.number === 2) {
      expectWireType(f, WIRE_LEN, 'KeyValue.value')
      kv.value = readAnyValue(reader.message())
    } else reader.skip(f.wireType)
  }
  return kv
}

function readAnyValue(reader: ProtobufReader): OtlpAnyValue {
  let value: OtlpAnyValue = {}
  for (let f = reader.nextField(); f; f = reader.nextField()) {
    switch (f.number) {
      case 1:
        expectWireType(f, WIRE_LEN, 'AnyValue.string_value')
        value = { stringValue: reader.string() }
        break
      case 2:
        expectWireType(f, WIRE_VARINT, 'AnyValue.bool_value')
        value = { boolValue: reader.bool() }
        break
      case 3:
        expectWireType(f, WIRE_VARINT, 'AnyValue.int_value')
        value = { intValue: reader.int64().toString() }
        break
      case 4:
        expectWireType(f, WIRE_FIXED64, 'AnyValue.double_value')
        value = { doubleValue: reader.double() }
        break
      case 5: {
        expectWireType(f, WIRE_LEN, 'AnyValue.array_value')
        const array = reader.message()
        const values: OtlpAnyValue[] = []
        for (let g = array.nextField(); g; g = array.nextField()) {
          if (g.number === 1 && g.wireType === WIRE_LEN) values.push(readAnyValue(array.message()))
          else array.skip(g.wireType)
        }
        value = { arrayValue: { values } }
        break
      }
      case 6: {
        expectWireType(f, WIRE_LEN, 'AnyValue.kvlist_value')
        const list = reader.message()
        const values: OtlpKeyValue[] = []
        for (let g = list.nextField(); g; g = list.nextField()) {
          if (g.number === 1 && g.wireType === WIRE_LEN) values.push(readKeyValue(list.message()))
          else list.skip(g.wireType)
        }
        value = { kvlistValue: { values } }
        break
      }
      case 7:
        expectWireType(f, WIRE_LEN, 'AnyValue.bytes_value')
        value = { bytesValue: Buffer.from(reader.lengthDelimited()).toString('base64') }
        break
      default:
        reader.skip(f.wireType)
    }
  }
  return value
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
