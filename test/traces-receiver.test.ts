/**
 * The embedded OTLP/HTTP receiver (harness/main/traces/receiver.ts): JSON, protobuf and gzip bodies of
 * the same spans decode to the same normalised spans; the query API joins by correlation id; the
 * span bound holds; malformed requests get OTLP's error answers. The protobuf bodies come from a
 * tiny encoder below, written from the opentelemetry-proto field numbers, and from the real
 * OpenTelemetry SDK + OTLP/HTTP exporter the reference orchestrator uses.
 */
import { gzipSync } from 'node:zlib'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { trace, ROOT_CONTEXT, SpanKind, SpanStatusCode } from '@opentelemetry/api'
import { TracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { startTraceReceiver, type TraceReceiver } from '../harness/main/traces/receiver.ts'
import { varint as encodeVarint } from '../harness/main/traces/otlp-response.ts'
import type { NormalisedSpan } from '../harness/results/traces/types.ts'
import type { OtlpAnyValue, OtlpKeyValue, OtlpTraceRequest } from '../harness/results/traces/otlp-json.ts'
import { base64Ids, tempoBatches } from './support/tempo-json.ts'

// ---- a tiny protobuf encoder for the ExportTraceServiceRequest subset -------------------------

// the varint the receiver answers with (its decoder, under test here, is separate code)
const varint = (value: bigint): number[] => [...encodeVarint(value)]
const tag = (field: number, wire: number) => varint(BigInt((field << 3) | wire))
const len = (field: number, bytes: number[] | Uint8Array) => [...tag(field, 2), ...varint(BigInt(bytes.length)), ...bytes]
const str = (field: number, s: string) => len(field, [...Buffer.from(s, 'utf8')])
const hexBytes = (field: number, hex: string) => len(field, [...Buffer.from(hex, 'hex')])
const fixed64 = (field: number, v: bigint) => {
  const b = Buffer.alloc(8)
  b.writeBigUInt64LE(v)
  return [...tag(field, 1), ...b]
}
const double = (field: number, v: number) => {
  const b = Buffer.alloc(8)
  b.writeDoubleLE(v)
  return [...tag(field, 1), ...b]
}
const uint = (field: number, v: number | bigint) => [...tag(field, 0), ...varint(BigInt(v))]

function anyValue(v: OtlpAnyValue): number[] {
  if (v.stringValue !== undefined) return str(1, v.stringValue)
  if (v.boolValue !== undefined) return uint(2, v.boolValue ? 1 : 0)
  if (v.intValue !== undefined) return uint(3, BigInt(v.intValue))
  if (v.doubleValue !== undefined) return double(4, Number(v.doubleValue))
  if (v.arrayValue) return len(5, (v.arrayValue.values ?? []).flatMap((x) => len(1, anyValue(x))))
  if (v.kvlistValue) return len(6, (v.kvlistValue.values ?? []).flatMap((kv) => len(1, keyValue(kv))))
  if (v.bytesValue !== undefined) return len(7, [...Buffer.from(v.bytesValue, 'base64')])
  return []
}
const keyValue = (kv: OtlpKeyValue) => [...str(1, kv.key), ...len(2, anyValue(kv.value ?? {}))]

function encodeRequest(req: OtlpTraceRequest): Buffer {
  const bytes = (req.resourceSpans ?? []).flatMap((rs) =>
    len(1, [
      ...len(1, (rs.resource?.attributes ?? []).flatMap((kv) => len(1, keyValue(kv)))),
      ...(rs.scopeSpans ?? []).flatMap((ss) =>
        len(2, [
          ...len(1, [...str(1, ss.scope?.name ?? ''), ...str(2, ss.scope?.version ?? '')]),
          ...(ss.spans ?? []).flatMap((s) =>
            len(2, [
              ...hexBytes(1, s.traceId!),
              ...hexBytes(2, s.spanId!),
              ...str(3, 'vendor=x'), // trace_state: read past, not kept
              ...(s.parentSpanId ? hexBytes(4, s.parentSpanId) : []),
              ...str(5, s.name!),
              ...uint(6, Number(s.kind ?? 0)),
              ...fixed64(7, BigInt(s.startTimeUnixNano!)),
              ...fixed64(8, BigInt(s.endTimeUnixNano!)),
              ...(s.attributes ?? []).flatMap((kv) => len(9, keyValue(kv))),
              ...uint(10, 0), // dropped_attributes_count: skipped
              ...(s.events ?? []).flatMap((e) => len(11, [...fixed64(1, BigInt(e.timeUnixNano!)), ...str(2, e.name ?? ''), ...(e.attributes ?? []).flatMap((kv) => len(3, keyValue(kv)))])),
              ...(s.status ? len(15, [...(s.status.message ? str(2, s.status.message) : []), ...uint(3, Number(s.status.code ?? 0))]) : []),
              ...[...tag(16, 5), 1, 3, 0, 0], // flags (fixed32): skipped
            ]),
          ),
        ]),
      ),
    ]),
  )
  return Buffer.from(bytes)
}

// ---- fixtures ----------------------------------------------------------------------------------

const TRACE = '5b8efff798038103d269b633813fc60c'
const s = (v: string): OtlpAnyValue => ({ stringValue: v })
const T0 = 1_760_000_000_000_000_000n // ns

function sampleRequest(): OtlpTraceRequest {
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: s('tasker-orchestration') }] },
        scopeSpans: [
          {
            scope: { name: 'tasker-reference-orchestrator', version: '1' },
            spans: [
              {
                traceId: TRACE,
                spanId: 'eee19b7ec3c1b174',
                name: 'task.create',
                kind: 2,
                startTimeUnixNano: String(T0),
                endTimeUnixNano: String(T0 + 12_345_678n),
                attributes: [
                  { key: 'correlation_id', value: s('corr-a') },
                  { key: 'task_uuid', value: s('task-a') },
                  { key: 'count', value: { intValue: '42' } },
                  { key: 'negative', value: { intValue: '-7' } },
                  { key: 'ratio', value: { doubleValue: 0.25 } },
                  { key: 'ok', value: { boolValue: true } },
                  { key: 'list', value: { arrayValue: { values: [s('x'), { intValue: '2' }] } } },
                  { key: 'map', value: { kvlistValue: { values: [{ key: 'inner', value: s('y') }] } } },
                  { key: 'raw', value: { bytesValue: Buffer.from([1, 2, 3]).toString('base64') } },
                ],
                events: [{ timeUnixNano: String(T0 + 1_000_000n), name: 'roots.enqueued', attributes: [{ key: 'n', value: { intValue: '3' } }] }],
                status: { code: 1 },
              },
            ],
          },
        ],
      },
      {
        resource: { attributes: [{ key: 'service.name', value: s('tasker-worker') }, { key: 'service.instance.id', value: s('w-7') }] },
        scopeSpans: [
          {
            scope: { name: 'tasker-reference-orchestrator', version: '1' },
            spans: [
              {
                traceId: TRACE,
                spanId: '0102030405060708',
                parentSpanId: 'eee19b7ec3c1b174',
                name: 'step.execute',
                kind: 1,
                startTimeUnixNano: String(T0 + 20_000_000n),
                endTimeUnixNano: String(T0 + 27_500_500n),
                attributes: [{ key: 'correlation_id', value: s('corr-a') }, { key: 'step_uuid', value: s('step-1') }],
                status: { code: 2, message: 'handler failed' },
              },
            ],
          },
        ],
      },
    ],
  }
}

// ---- helpers -------------------------------------------------------------------------------------

const receivers: TraceReceiver[] = []
const logged: string[] = []
async function receiver(maxSpans?: number): Promise<TraceReceiver> {
  const r = await startTraceReceiver({ maxSpans, log: (l) => logged.push(l), registerCleanup: false })
  receivers.push(r)
  return r
}
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.stop()))
  logged.length = 0
})

async function post(r: TraceReceiver, body: Buffer | string, headers: Record<string, string>) {
  const res = await fetch(`${r.endpoint}/v1/traces`, { method: 'POST', body, headers })
  return { status: res.status, contentType: res.headers.get('content-type'), body: Buffer.from(await res.arrayBuffer()) }
}

async function spans(r: TraceReceiver, query: string): Promise<NormalisedSpan[]> {
  const res = await fetch(`${r.queryUrl}/api/spans?${query}`)
  expect(res.status).toBe(200)
  return ((await res.json()) as { spans: NormalisedSpan[] }).spans
}

// ---- tests ---------------------------------------------------------------------------------------

describe('decoding', () => {
  it('JSON, protobuf, gzip-JSON and gzip-protobuf bodies give the same normalised spans', async () => {
    const json = JSON.stringify(sampleRequest())
    const proto = encodeRequest(sampleRequest())
    const variants: [string, Buffer | string, Record<string, string>][] = [
      ['json', json, { 'content-type': 'application/json' }],
      ['protobuf', proto, { 'content-type': 'application/x-protobuf' }],
      ['gzip json', gzipSync(json), { 'content-type': 'application/json; charset=utf-8', 'content-encoding': 'gzip' }],
      ['gzip protobuf', gzipSync(proto), { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' }],
    ]
    const results: NormalisedSpan[][] = []
    for (const [, body, headers] of variants) {
      const r = await receiver()
      const res = await post(r, body, headers)
      expect(res.status).toBe(200)
      results.push(await spans(r, 'correlation_id=corr-a'))
    }
    for (const other of results.slice(1)) expect(other).toEqual(results[0])

    const [create, execute] = results[0]!
    expect(create).toEqual({
      traceId: TRACE,
      spanId: 'eee19b7ec3c1b174',
      parentSpanId: undefined,
      name: 'task.create',
      kind: 2,
      service: 'tasker-orchestration',
      startMs: 1_760_000_000_000,
      endMs: 1_760_000_000_012.345,
      durationMs: 12.345,
      attributes: {
        correlation_id: 'corr-a',
        task_uuid: 'task-a',
        count: 42,
        negative: -7,
        ratio: 0.25,
        ok: true,
        list: ['x', 2],
        map: { inner: 'y' },
        raw: 'AQID',
      },
      resource: { 'service.name': 'tasker-orchestration' },
      events: [{ name: 'roots.enqueued', timeMs: 1_760_000_000_001, attributes: { n: 3 } }],
      status: { code: 1 },
    })
    expect(execute).toMatchObject({
      parentSpanId: 'eee19b7ec3c1b174',
      name: 'step.execute',
      service: 'tasker-worker',
      durationMs: 7.5,
      resource: { 'service.instance.id': 'w-7' },
      status: { code: 2, message: 'handler failed' },
    })
  })

  it('answers a protobuf export with an empty protobuf response and a JSON one with {}', async () => {
    const r = await receiver()
    const proto = await post(r, encodeRequest(sampleRequest()), { 'content-type': 'application/x-protobuf' })
    expect(proto).toMatchObject({ status: 200, contentType: 'application/x-protobuf' })
    expect(proto.body.length).toBe(0)
    const json = await post(r, JSON.stringify(sampleRequest()), { 'content-type': 'application/json' })
    expect(json).toMatchObject({ status: 200, contentType: 'application/json' })
    expect(JSON.parse(json.body.toString())).toEqual({})
  })

  it('accepts what the OpenTelemetry SDK’s OTLP/HTTP exporter sends (the reference orchestrator’s exporter)', async () => {
    const r = await receiver()
    const provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'tasker-worker' }),
      spanProcessors: [new SimpleSpanProcessor({ exporter: new OTLPTraceExporter({ url: `${r.endpoint}/v1/traces` }) })],
    })
    const tracer = provider.getTracer('test')
    const parent = tracer.startSpan('task.create', { kind: SpanKind.SERVER, attributes: { correlation_id: 'corr-sdk', task_uuid: 't' } })
    const child = tracer.startSpan('step.claim', { attributes: { correlation_id: 'corr-sdk', step_uuid: 's', worker_id: 'w1', read_ct: 1 } }, trace.setSpan(ROOT_CONTEXT, parent))
    child.addEvent('claimed', { rows: 1 })
    child.setStatus({ code: SpanStatusCode.ERROR, message: 'nope' })
    child.end()
    parent.end()
    await provider.forceFlush()
    await provider.shutdown()

    const got = await spans(r, 'correlation_id=corr-sdk')
    expect(got.map((x) => x.name).sort()).toEqual(['step.claim', 'task.create'])
    const claim = got.find((x) => x.name === 'step.claim')!
    expect(claim).toMatchObject({
      traceId: parent.spanContext().traceId,
      spanId: child.spanContext().spanId,
      parentSpanId: parent.spanContext().spanId,
      service: 'tasker-worker',
      attributes: { correlation_id: 'corr-sdk', step_uuid: 's', worker_id: 'w1', read_ct: 1 },
      events: [{ name: 'claimed', attributes: { rows: 1 } }],
      status: { code: 2, message: 'nope' },
    })
    expect(got.find((x) => x.name === 'task.create')!.kind).toBe(2)
    expect(claim.endMs).toBeGreaterThanOrEqual(claim.startMs)
  })
})

describe('query API', () => {
  it('returns a task’s spans by correlation id, including its children without the attribute, not other tasks’ spans', async () => {
    const r = await receiver()
    const span = (spanId: string, name: string, corr: string | undefined, traceId = TRACE) => ({
      traceId,
      spanId,
      name,
      startTimeUnixNano: String(T0 + BigInt(parseInt(spanId.slice(-2), 16)) * 1_000_000n),
      endTimeUnixNano: String(T0 + 100_000_000n),
      attributes: corr ? [{ key: 'correlation_id', value: s(corr) }] : [],
    })
    const other = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'
    const body: OtlpTraceRequest = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: s('tasker-worker') }] },
          scopeSpans: [
            {
              spans: [
                span('0000000000000001', 'task.create', 'corr-a'),
                span('0000000000000002', 'db.query', undefined), // child without the attribute
                span('0000000000000003', 'step.claim', 'corr-b'), // another task in the same trace (a batch)
                span('0000000000000004', 'task.create', 'corr-b', other),
              ],
            },
          ],
        },
      ],
    }
    expect((await post(r, JSON.stringify(body), { 'content-type': 'application/json' })).status).toBe(200)

    expect((await spans(r, 'correlation_id=corr-a')).map((x) => x.spanId)).toEqual(['0000000000000001', '0000000000000002'])
    expect((await spans(r, 'correlation_id=corr-b')).map((x) => x.spanId).sort()).toEqual(['0000000000000002', '0000000000000003', '0000000000000004'])
    expect((await spans(r, `trace_id=${other.toUpperCase()}`)).map((x) => x.spanId)).toEqual(['0000000000000004'])
    expect(await spans(r, 'correlation_id=nobody')).toEqual([])

    const missing = await fetch(`${r.queryUrl}/api/spans`)
    expect(missing.status).toBe(400)
    expect(((await missing.json()) as { error: string }).error).toMatch(/correlation_id/)
    const stats = (await (await fetch(`${r.queryUrl}/api/stats`)).json()) as Record<string, number>
    expect(stats).toMatchObject({ spans: 4, traces: 2, correlationIds: 2, received: 4, dropped: 0 })
  })
})

describe('bounds and errors', () => {
  it('keeps at most maxSpans, dropping the oldest with one warning', async () => {
    const r = await receiver(5)
    for (let i = 1; i <= 8; i++) {
      const body: OtlpTraceRequest = {
        resourceSpans: [
          {
            scopeSpans: [
              {
                spans: [
                  {
                    traceId: i.toString(16).padStart(32, '0'),
                    spanId: i.toString(16).padStart(16, '0'),
                    name: 'task.create',
                    startTimeUnixNano: String(T0),
                    endTimeUnixNano: String(T0 + 1n),
                    attributes: [{ key: 'correlation_id', value: s(`c${i}`) }],
                  },
                ],
              },
            ],
          },
        ],
      }
      expect((await post(r, encodeRequest(body), { 'content-type': 'application/x-protobuf' })).status).toBe(200)
    }
    expect(r.store.stats()).toMatchObject({ spans: 5, traces: 5, correlationIds: 5, received: 8, dropped: 3, maxSpans: 5 })
    for (const i of [1, 2, 3]) expect(await spans(r, `correlation_id=c${i}`)).toEqual([])
    for (const i of [4, 8]) expect(await spans(r, `correlation_id=c${i}`)).toHaveLength(1)
    expect(logged.filter((l) => /span buffer full \(5 spans\)/.test(l))).toHaveLength(1)
  })

  it('answers OTLP errors: 415 for other content types, 400 with a Status for bodies it cannot read', async () => {
    const r = await receiver()
    const text = await post(r, 'hello', { 'content-type': 'text/plain' })
    expect(text.status).toBe(415)
    expect(text.body.toString()).toMatch(/application\/x-protobuf/)

    const badJson = await post(r, '{"resourceSpans": [', { 'content-type': 'application/json' })
    expect(badJson.status).toBe(400)
    expect(JSON.parse(badJson.body.toString())).toMatchObject({ code: 3, message: expect.stringMatching(/not JSON/) })

    // field 1, wire type 2, length 200 — but only 2 bytes follow
    const badProto = await post(r, Buffer.from([0x0a, 0xc8, 0x01, 0x01, 0x02]), { 'content-type': 'application/x-protobuf' })
    expect(badProto.status).toBe(400)
    expect(badProto.contentType).toBe('application/x-protobuf')
    expect(badProto.body[0]).toBe(0x08) // google.rpc.Status field 1 (code), varint
    expect(badProto.body[1]).toBe(3) // INVALID_ARGUMENT
    expect(badProto.body.toString('utf8')).toMatch(/runs past the end/)

    const badGzip = await post(r, Buffer.from('not gzip'), { 'content-type': 'application/json', 'content-encoding': 'gzip' })
    expect(badGzip.status).toBe(400)

    const brotli = await post(r, '{}', { 'content-type': 'application/json', 'content-encoding': 'br' })
    expect(brotli.status).toBe(415)

    expect((await fetch(`${r.endpoint}/v1/traces`)).status).toBe(405)
    expect((await fetch(`${r.endpoint}/v1/metrics`, { method: 'POST', body: '{}' })).status).toBe(404)
    expect(r.store.stats().spans).toBe(0)
  })

  it('rejects malformed spans individually and reports them as a partial success', async () => {
    const r = await receiver()
    const body = sampleRequest()
    body.resourceSpans![0]!.scopeSpans![0]!.spans!.push({ spanId: '0000000000000009', name: 'no trace id', startTimeUnixNano: '1', endTimeUnixNano: '2' })
    const json = await post(r, JSON.stringify(body), { 'content-type': 'application/json' })
    expect(json.status).toBe(200)
    expect(JSON.parse(json.body.toString())).toEqual({ partialSuccess: { rejectedSpans: '1', errorMessage: expect.stringMatching(/no traceId/) } })
    expect(r.store.stats().spans).toBe(2)
  })

  it('reads base64 ids and named enums (proto3 JSON as Tempo answers)', async () => {
    const r = await receiver()
    const span = {
      ...base64Ids(TRACE, '0102030405060708'),
      name: 'x',
      kind: 'SPAN_KIND_CONSUMER',
      startTimeUnixNano: 1_000_000,
      endTimeUnixNano: '3000000',
      attributes: [{ key: 'correlation_id', value: s('corr-t') }],
      status: { code: 'STATUS_CODE_ERROR' },
    }
    const body = tempoBatches('svc', [span], 'instrumentationLibrarySpans')
    expect((await post(r, JSON.stringify(body), { 'content-type': 'application/json' })).status).toBe(200)
    expect(await spans(r, 'correlation_id=corr-t')).toMatchObject([{ traceId: TRACE, spanId: '0102030405060708', kind: 5, startMs: 1, endMs: 3, durationMs: 2, status: { code: 2 } }])
  })
})

afterAll(async () => {
  await Promise.all(receivers.map((r) => r.stop()))
})
