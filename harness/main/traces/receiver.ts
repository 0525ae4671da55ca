/**
 * The embedded trace receiver: an OTLP/HTTP server on 127.0.0.1 (a port the OS picks) that keeps
 * the orchestrator's spans in memory, and a small query API on the same server so bench workers
 * (other processes) can read them back over loopback.
 *
 *   POST /v1/traces      OTLP/HTTP export: application/json or application/x-protobuf,
 *                        optionally Content-Encoding gzip or deflate → 200 with an
 *                        ExportTraceServiceResponse in the request's encoding
 *   GET  /api/spans      ?correlation_id=… or ?trace_id=… → {"spans": NormalisedSpan[]}
 *   GET  /api/stats      → span counts, drops
 *
 * Point an exporter at it with OTEL_EXPORTER_OTLP_ENDPOINT=<endpoint> (the exporter appends
 * /v1/traces) or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=<endpoint>/v1/traces.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { promisify } from 'node:util'
import zlib from 'node:zlib'
import { onCleanup } from '../cleanup.ts'
import { normaliseTraceRequest, OtlpFormatError } from '../../results/traces/otlp-json.ts'
import { decodeExportTraceRequest } from './otlp-protobuf.ts'
import { exportResponse, statusResponse, STATUS_INVALID_ARGUMENT, type OtlpEncoding } from './otlp-response.ts'
import { ProtobufDecodeError } from './protobuf-wire.ts'
import { createSpanStore, type SpanStore } from '../../results/traces/span-store.ts'

export interface TraceReceiver {
  /** base URL for OTEL_EXPORTER_OTLP_ENDPOINT, e.g. http://127.0.0.1:43817 */
  endpoint: string
  /** base URL of the query API (same server); createTraceQuery() reads from it */
  queryUrl: string
  /** the store itself, for code in the same process (tests) */
  store: SpanStore
  stop(): Promise<void>
}

export interface TraceReceiverOptions {
  /** spans kept before the oldest are dropped (default 500 000) */
  maxSpans?: number
  /** largest request body accepted, compressed and decompressed (default 64 MiB) */
  maxBodyBytes?: number
  log?: (line: string) => void
  /** register stop() with harness/main/cleanup.ts (default true) */
  registerCleanup?: boolean
}

const gunzip = promisify(zlib.gunzip)
const inflate = promisify(zlib.inflate)

class HttpError extends Error {
  readonly status: number
  constructor(status: number, message: string) {
    super(message)
    this.status = status
  }
}

export async function startTraceReceiver(options: TraceReceiverOptions = {}): Promise<TraceReceiver> {
  const log = options.log ?? ((line: string) => console.log(line))
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024 * 1024
  const store = createSpanStore({ maxSpans: options.maxSpans, warn: log })

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // Only reached for failures outside the request handlers (a broken socket); answer if we still can.
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' })
      res.end(String((err as Error)?.message ?? err))
    })
  })
  server.keepAliveTimeout = 30_000

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    if (url.pathname === '/v1/traces') {
      if (req.method !== 'POST') return send(res, 405, 'application/json', JSON.stringify({ error: 'POST OTLP trace data to /v1/traces' }), { allow: 'POST' })
      return receive(req, res)
    }
    if (req.method === 'GET' && url.pathname === '/api/spans') return querySpans(url, res)
    if (req.method === 'GET' && url.pathname === '/api/stats') return send(res, 200, 'application/json', JSON.stringify(store.stats()))
    req.resume()
    send(res, 404, 'application/json', JSON.stringify({ error: `no route ${req.method} ${url.pathname}: use POST /v1/traces, GET /api/spans, GET /api/stats` }))
  }

  async function receive(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
    const encoding: OtlpEncoding | undefined =
      contentType === 'application/json' ? 'json' : contentType === 'application/x-protobuf' || contentType === 'application/protobuf' ? 'protobuf' : undefined
    if (!encoding) {
      req.resume()
      return send(res, 415, 'application/json', JSON.stringify({ code: STATUS_INVALID_ARGUMENT, message: `unsupported content-type ${JSON.stringify(contentType)}: send application/json or application/x-protobuf` }))
    }
    const mime = encoding === 'json' ? 'application/json' : 'application/x-protobuf'
    try {
      const raw = await readBody(req, maxBodyBytes)
      const body = await decompress(raw, String(req.headers['content-encoding'] ?? 'identity').toLowerCase(), maxBodyBytes)
      const request = encoding === 'json' ? parseJson(body) : decodeExportTraceRequest(body)
      const { spans, rejected, firstError } = normaliseTraceRequest(request)
      store.add(spans)
      send(res, 200, mime, exportResponse(encoding, rejected, firstError))
    } catch (err) {
      const status = err instanceof HttpError ? err.status : err instanceof OtlpFormatError || err instanceof ProtobufDecodeError ? 400 : 500
      send(res, status, mime, statusResponse(encoding, STATUS_INVALID_ARGUMENT, `trace receiver: ${(err as Error).message}`))
    }
  }

  function querySpans(url: URL, res: http.ServerResponse): void {
    const correlationId = url.searchParams.get('correlation_id')
    const traceId = url.searchParams.get('trace_id')
    if (!correlationId && !traceId) {
      return send(res, 400, 'application/json', JSON.stringify({ error: 'GET /api/spans needs ?correlation_id=<uuid> or ?trace_id=<32 hex digits>' }))
    }
    const spans = correlationId ? store.byCorrelationId(correlationId) : store.byTraceId(traceId!.toLowerCase())
    const filtered = correlationId && traceId ? spans.filter((s) => s.traceId === traceId.toLowerCase()) : spans
    send(res, 200, 'application/json', JSON.stringify({ spans: filtered }))
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  const endpoint = `http://127.0.0.1:${port}`

  let stopped: Promise<void> | undefined
  const stop = (): Promise<void> =>
    (stopped ??= new Promise<void>((resolve) => {
      unregister?.()
      server.close(() => resolve())
      server.closeAllConnections()
    }))
  const unregister = options.registerCleanup === false ? undefined : onCleanup('trace receiver', stop, () => server.closeAllConnections())

  return { endpoint, queryUrl: endpoint, store, stop }
}

function send(res: http.ServerResponse, status: number, contentType: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), ...headers })
  res.end(body)
}

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let total = 0
    req.on('data', (chunk: Buffer) => {
      total += chunk.length
      if (total > limit) {
        reject(new HttpError(413, `request body larger than ${limit} bytes`))
        req.destroy()
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

async function decompress(body: Buffer, contentEncoding: string, limit: number): Promise<Buffer> {
  try {
    if (contentEncoding === 'gzip' || contentEncoding === 'x-gzip') return await gunzip(body, { maxOutputLength: limit })
    if (contentEncoding === 'deflate') return await inflate(body, { maxOutputLength: limit })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ERR_BUFFER_TOO_LARGE') throw new HttpError(413, `decompressed body larger than ${limit} bytes`)
    throw new HttpError(400, `Content-Encoding ${contentEncoding}: body does not decompress (${(err as Error).message})`)
  }
  if (contentEncoding === 'identity' || contentEncoding === '') return body
  throw new HttpError(415, `unsupported Content-Encoding ${contentEncoding}: send gzip, deflate or none`)
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'))
  } catch (err) {
    throw new OtlpFormatError(`body is not JSON (${(err as Error).message})`)
  }
}
