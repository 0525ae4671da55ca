/**
 * Choosing the trace mode (harness/main/traces/provide.ts) and reading a task's spans back
 * (harness/bench/traces/query.ts): from the embedded receiver with late spans, and from Jaeger and Tempo
 * as played by small fake servers that answer the way those APIs are documented to.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, describe, expect, it } from 'vitest'
import { runCleanups } from '../harness/main/cleanup.ts'
import { ConfigError } from '../harness/config/settings.ts'
import { chooseTraceMode, exporterEnvironment, provideTraces } from '../harness/main/traces/provide.ts'
import { createTraceQuery } from '../harness/bench/traces/query.ts'
import { startTraceReceiver, type TraceReceiver } from '../harness/main/traces/receiver.ts'
import type { OtlpTraceRequest } from '../harness/results/traces/otlp-json.ts'
import { base64Ids, tempoBatches } from './support/tempo-json.ts'

afterAll(async () => {
  await runCleanups() // receivers started through provideTraces register themselves there
})

describe('choosing the trace mode', () => {
  const choose = (BENCH_TRACES: 'auto' | 'embedded' | 'jaeger' | 'tempo' | 'off', url: string | undefined, orchestrator: 'embedded' | 'external' | 'compose' | 'off') =>
    chooseTraceMode({ BENCH_TRACES, BENCH_TRACES_URL: url }, orchestrator)

  it('auto: the embedded orchestrator → embedded; a trace URL → jaeger or tempo by its look; else off, saying why', () => {
    expect(choose('auto', undefined, 'embedded')).toEqual({ mode: 'embedded', reason: expect.stringMatching(/embedded orchestrator/) })
    expect(choose('auto', 'http://127.0.0.1:16686', 'external')).toMatchObject({ mode: 'jaeger', reason: expect.stringMatching(/looks like Jaeger/) })
    expect(choose('auto', 'http://127.0.0.1:3200', 'embedded').mode).toBe('tempo')
    expect(choose('auto', 'http://tempo.internal:8080', 'external').mode).toBe('tempo')
    expect(choose('auto', undefined, 'external')).toMatchObject({ mode: 'off', reason: expect.stringMatching(/set BENCH_TRACES_URL/) })
    expect(choose('auto', undefined, 'off')).toMatchObject({ mode: 'off', reason: expect.stringMatching(/no orchestrator/) })
  })

  it('explicit modes win; jaeger and tempo need BENCH_TRACES_URL', () => {
    expect(choose('off', 'http://127.0.0.1:16686', 'embedded')).toEqual({ mode: 'off', reason: 'BENCH_TRACES=off' })
    expect(choose('embedded', undefined, 'external')).toMatchObject({ mode: 'embedded', reason: expect.stringMatching(/must be configured to export/) })
    expect(choose('tempo', 'http://127.0.0.1:16686', 'embedded').mode).toBe('tempo')
    expect(() => choose('jaeger', undefined, 'embedded')).toThrow(ConfigError)
    expect(() => choose('tempo', undefined, 'embedded')).toThrow(/BENCH_TRACES=tempo needs BENCH_TRACES_URL/)
  })

  it('provideTraces starts the embedded receiver and gives the exporter settings for the orchestrator', async () => {
    const lines: string[] = []
    const traces = await provideTraces({ BENCH_TRACES: 'auto', BENCH_TRACES_URL: undefined }, (l) => lines.push(l), { orchestrator: 'embedded' })
    expect(traces).toMatchObject({ mode: 'embedded', otlpEndpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) })
    expect(traces.queryUrl).toBe(traces.otlpEndpoint)
    expect(lines.join('\n')).toMatch(/traces: embedded OTLP\/HTTP receiver at http:\/\/127\.0\.0\.1:\d+/)
    expect(JSON.parse(JSON.stringify(traces))).toEqual(traces) // goes through provide()
    expect(exporterEnvironment(traces)).toMatchObject({ OTEL_EXPORTER_OTLP_ENDPOINT: traces.otlpEndpoint, OTEL_BSP_SCHEDULE_DELAY: '200' })
    expect((await fetch(`${traces.queryUrl}/api/stats`)).status).toBe(200)
    expect(exporterEnvironment({ mode: 'off', reason: 'x' })).toEqual({})
  })

  it('a jaeger that does not answer is an error when named, and turns the breakdown off under auto', async () => {
    const dead = `http://127.0.0.1:${await closedPort()}`
    await expect(provideTraces({ BENCH_TRACES: 'jaeger', BENCH_TRACES_URL: dead }, () => {}, { orchestrator: 'external', checkTimeoutMs: 1_000 })).rejects.toThrow(
      /BENCH_TRACES=jaeger: jaeger at http:\/\/127\.0\.0\.1:\d+\/ did not answer GET \/api\/services/,
    )
    const auto = await provideTraces({ BENCH_TRACES: 'auto', BENCH_TRACES_URL: dead }, () => {}, { orchestrator: 'external', checkTimeoutMs: 1_000 })
    expect(auto).toMatchObject({ mode: 'off', reason: expect.stringMatching(/did not answer.*breakdown off/) })
  })
})

// ---- the embedded receiver, with spans arriving late --------------------------------------------

const BASE_NS = 1_700_000_000_000_000_000n
interface Spec {
  name: string
  at: [number, number]
  step?: string
  worker?: string
}

function otlp(corr: string, specs: Spec[], service = 'tasker-worker'): OtlpTraceRequest {
  const traceId = Buffer.from(corr.padEnd(16, '_').slice(0, 16)).toString('hex')
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [
          {
            spans: specs.map((s, i) => ({
              traceId,
              spanId: (i + 1).toString(16).padStart(16, '0') + '',
              name: s.name,
              startTimeUnixNano: String(BASE_NS + BigInt(s.at[0] * 1e6)),
              endTimeUnixNano: String(BASE_NS + BigInt(s.at[1] * 1e6)),
              attributes: [
                { key: 'correlation_id', value: { stringValue: corr } },
                ...(s.step ? [{ key: 'step_uuid', value: { stringValue: s.step } }, { key: 'step_name', value: { stringValue: s.step } }] : []),
                ...(s.worker ? [{ key: 'worker_id', value: { stringValue: s.worker } }] : []),
              ],
            })),
          },
        ],
      },
    ],
  }
}

const oneStepTask: Spec[] = [
  { name: 'task.create', at: [0, 5] },
  { name: 'step.enqueue', at: [2, 3], step: 'only' },
  { name: 'step.claim', at: [4, 5], step: 'only', worker: 'w1' },
  { name: 'step.execute', at: [5, 15], step: 'only', worker: 'w1' },
  { name: 'step.submit_result', at: [15, 16], step: 'only', worker: 'w1' },
  { name: 'result.process', at: [17, 20], step: 'only' },
  { name: 'task.finalize', at: [18, 19] },
]

describe('reading spans back from the embedded receiver', () => {
  let receiver: TraceReceiver
  const post = (body: OtlpTraceRequest) =>
    fetch(`${receiver.endpoint}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => {
      expect(r.status).toBe(200)
    })

  it('waits for late spans until the trace is complete', async () => {
    receiver = await startTraceReceiver({ registerCleanup: false, log: () => {} })
    try {
      const query = createTraceQuery({ mode: 'embedded', reason: 'test', queryUrl: receiver.queryUrl })
      await post(otlp('late-task', oneStepTask.slice(0, 3)))
      const rest = new Promise<void>((resolve) => setTimeout(() => void post(otlp('late-task', oneStepTask.slice(3))).then(resolve), 300))
      const result = await query.waitForTrace('late-task', { expectSteps: 1, deadlineMs: 10_000 })
      await rest
      expect(result.breakdown).toMatchObject({ complete: true, missing: [], steps: [{ stepName: 'only', worker: 'w1', phases: { 'worker.execute': 10 } }] })
      expect(result.waitedMs).toBeGreaterThanOrEqual(250)
      expect(result.spans).toHaveLength(7)
    } finally {
      await receiver.stop()
    }
  })

  it('gives up at the deadline and says what is missing', async () => {
    receiver = await startTraceReceiver({ registerCleanup: false, log: () => {} })
    try {
      const query = createTraceQuery({ mode: 'embedded', reason: 'test', queryUrl: receiver.queryUrl })
      await post(otlp('never-finalized', oneStepTask.filter((s) => s.name !== 'task.finalize')))
      const started = performance.now()
      const result = await query.waitForTrace('never-finalized', { expectSteps: 2, deadlineMs: 400 })
      expect(performance.now() - started).toBeLessThan(5_000)
      expect(result.breakdown.complete).toBe(false)
      expect(result.breakdown.missing).toEqual(['1 of 2 steps have no spans', 'task.finalize', expect.stringMatching(/^gave up waiting for late spans after \d+ ms$/)])
    } finally {
      await receiver.stop()
    }
  })
})

// ---- Jaeger and Tempo, played by fake servers ----------------------------------------------------

async function fakeServer(handler: (url: URL, res: http.ServerResponse) => void): Promise<{ url: string; requests: URL[]; close: () => Promise<void> }> {
  const requests: URL[] = []
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x')
    requests.push(url)
    handler(url, res)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r())
        server.closeAllConnections()
      }),
  }
}

const json = (res: http.ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

async function closedPort(): Promise<number> {
  const s = await fakeServer(() => {})
  const port = Number(new URL(s.url).port)
  await s.close()
  return port
}

describe('Jaeger', () => {
  it('searches each tasker service by the correlation_id tag and normalises Jaeger’s span JSON', async () => {
    const trace = {
      traceID: '3ce929d0e0e4736', // Jaeger drops leading zeros
      spans: [
        {
          traceID: '3ce929d0e0e4736',
          spanID: 'a1',
          operationName: 'task.create',
          references: [],
          startTime: 1_700_000_000_000_000,
          duration: 5_000,
          tags: [
            { key: 'correlation_id', type: 'string', value: 'corr-j' },
            { key: 'span.kind', type: 'string', value: 'server' },
          ],
          logs: [],
          processID: 'p1',
        },
        {
          traceID: '3ce929d0e0e4736',
          spanID: 'b2',
          operationName: 'step.execute',
          references: [{ refType: 'CHILD_OF', traceID: '3ce929d0e0e4736', spanID: 'a1' }],
          startTime: 1_700_000_000_010_000,
          duration: 7_500,
          tags: [
            { key: 'correlation_id', type: 'string', value: 'corr-j' },
            { key: 'worker_id', type: 'string', value: 'w9' },
            { key: 'otel.status_code', type: 'string', value: 'ERROR' },
            { key: 'otel.status_description', type: 'string', value: 'boom' },
          ],
          logs: [{ timestamp: 1_700_000_000_011_000, fields: [{ key: 'event', type: 'string', value: 'step.execution_started' }, { key: 'n', type: 'int64', value: 1 }] }],
          processID: 'p2',
        },
      ],
      processes: { p1: { serviceName: 'tasker-orchestration', tags: [] }, p2: { serviceName: 'tasker-worker', tags: [{ key: 'hostname', type: 'string', value: 'h' }] } },
    }
    const jaeger = await fakeServer((url, res) => {
      if (url.pathname === '/api/services') return json(res, 200, { data: ['tasker-orchestration', 'tasker-worker', 'jaeger-all-in-one'] })
      if (url.pathname === '/api/traces') return json(res, 200, { data: [trace] }) // both services find the same trace
      json(res, 404, {})
    })
    try {
      const spans = await createTraceQuery({ mode: 'jaeger', reason: 'test', queryUrl: `${jaeger.url}/` }).spansFor('corr-j')
      const searches = jaeger.requests.filter((u) => u.pathname === '/api/traces')
      expect(searches.map((u) => u.searchParams.get('service'))).toEqual(['tasker-orchestration', 'tasker-worker'])
      expect(JSON.parse(searches[0]!.searchParams.get('tags')!)).toEqual({ correlation_id: 'corr-j' })
      expect(spans).toHaveLength(2)
      expect(spans[0]).toMatchObject({
        traceId: '00000000000000000' + '3ce929d0e0e4736',
        spanId: '00000000000000a1',
        parentSpanId: undefined,
        name: 'task.create',
        kind: 2,
        service: 'tasker-orchestration',
        startMs: 1_700_000_000_000,
        durationMs: 5,
        attributes: { correlation_id: 'corr-j' },
      })
      expect(spans[1]).toMatchObject({
        parentSpanId: '00000000000000a1',
        service: 'tasker-worker',
        endMs: 1_700_000_000_017.5,
        attributes: { correlation_id: 'corr-j', worker_id: 'w9' },
        resource: { hostname: 'h', 'service.name': 'tasker-worker' },
        events: [{ name: 'step.execution_started', timeMs: 1_700_000_000_011, attributes: { n: 1 } }],
        status: { code: 2, message: 'boom' },
      })
      expect(spans[1]!.attributes).not.toHaveProperty('otel.status_code')
    } finally {
      await jaeger.close()
    }
  })
})

describe('Tempo', () => {
  const traceHex = '0af7651916cd43dd8448eb211c80319c'
  const claim = (spanHex: string, correlationId: string, fields: Record<string, unknown> = {}) => ({
    ...base64Ids(traceHex, spanHex),
    name: 'step.claim',
    ...fields,
    startTimeUnixNano: '1700000000000000000',
    endTimeUnixNano: '1700000000002000000',
    attributes: [{ key: 'correlation_id', value: { stringValue: correlationId } }],
  })
  const tempoTrace = tempoBatches('tasker-worker', [claim('b7ad6b7169203331', 'corr-t', { kind: 'SPAN_KIND_INTERNAL' }), claim('00000000000000ff', 'someone-else')])

  it('searches with TraceQL, fetches each trace and keeps only this task’s spans', async () => {
    const tempo = await fakeServer((url, res) => {
      if (url.pathname === '/api/search') return json(res, 200, { traces: [{ traceID: traceHex }] })
      if (url.pathname === `/api/traces/${traceHex}`) return json(res, 200, tempoTrace)
      json(res, 404, {})
    })
    try {
      const spans = await createTraceQuery({ mode: 'tempo', reason: 'test', queryUrl: tempo.url }).spansFor('corr-t')
      expect(tempo.requests[0]!.searchParams.get('q')).toBe('{ span.correlation_id = "corr-t" }')
      expect(spans).toEqual([expect.objectContaining({ traceId: traceHex, spanId: 'b7ad6b7169203331', kind: 1, durationMs: 2, service: 'tasker-worker' })])
    } finally {
      await tempo.close()
    }
  })

  it('falls back to the tags search on a Tempo without TraceQL', async () => {
    const tempo = await fakeServer((url, res) => {
      if (url.pathname === '/api/search' && url.searchParams.has('q')) return json(res, 400, { error: 'unknown parameter q' })
      if (url.pathname === '/api/search') return json(res, 200, { traces: [{ traceID: traceHex }] })
      if (url.pathname === `/api/traces/${traceHex}`) return json(res, 200, { trace: { resourceSpans: tempoTrace.batches } })
      json(res, 404, {})
    })
    try {
      const spans = await createTraceQuery({ mode: 'tempo', reason: 'test', queryUrl: tempo.url }).spansFor('corr-t')
      expect(tempo.requests[1]!.searchParams.get('tags')).toBe('correlation_id=corr-t')
      expect(spans.map((s) => s.spanId)).toEqual(['b7ad6b7169203331'])
    } finally {
      await tempo.close()
    }
  })
})
