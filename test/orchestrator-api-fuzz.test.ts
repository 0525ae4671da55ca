/**
 * Fuzzing the reference orchestrator's REST API over real sockets (loopback only): malformed
 * UUIDs and percent-encodings, request targets that are not paths, unknown methods, wrong content
 * types, huge and deeply nested bodies, and a seeded random mix of all of them. Whatever a client
 * sends, the answer is never a 500: a client mistake is a 4xx with the contract's error shape
 * {"error":{"code","message"}}, the service logs no failure, and it stays up (GET /health).
 * Bounded: a fixed list plus RANDOM_CASES seeded cases, each with a timeout, under one deadline.
 */
import net from 'node:net'
import { describe, expect, test } from 'vitest'
import { seededRandom, type Random } from '../harness/offline/compare/seeded-random.ts'
import { errorLines, getJson, taskBody, useOrchestrator } from './support/orchestrator.ts'

const RANDOM_CASES = 300
const RANDOM_DEADLINE_MS = 90_000
const REQUEST_TIMEOUT_MS = 30_000

interface Answer {
  status: number | undefined
  body: string
}

interface Request {
  method: string
  target: string
  headers?: Record<string, string>
  body?: string | Buffer
  /** raw bytes instead of a request built from the fields above */
  raw?: Buffer
  /** the client closes its side after writing (an incomplete body then has nobody to answer) */
  leaves?: boolean
}

/** One request on its own connection, written as given (no client-side normalisation). */
function send(port: number, r: Request): Promise<Answer> {
  const body = r.body === undefined ? undefined : Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body)
  const head = [`${r.method} ${r.target} HTTP/1.1`, 'host: 127.0.0.1', 'connection: close']
  for (const [k, v] of Object.entries(r.headers ?? {})) head.push(`${k}: ${v}`)
  if (body && !Object.keys(r.headers ?? {}).some((k) => k.toLowerCase() === 'content-length' || k.toLowerCase() === 'transfer-encoding')) {
    head.push(`content-length: ${body.length}`)
  }
  const bytes = r.raw ?? Buffer.concat([Buffer.from(head.join('\r\n') + '\r\n\r\n', 'latin1'), body ?? Buffer.alloc(0)])
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    const chunks: Buffer[] = []
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms to ${r.method} ${r.target.slice(0, 100)}`))
    }, REQUEST_TIMEOUT_MS)
    socket.on('data', (d) => chunks.push(d))
    // The server may answer (413, 400) and close before the whole body is written: not an error.
    socket.on('error', () => {})
    socket.on('close', () => {
      clearTimeout(timer)
      const text = Buffer.concat(chunks).toString('utf8')
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1]
      const split = text.indexOf('\r\n\r\n')
      resolve({ status: status ? Number(status) : undefined, body: split >= 0 ? text.slice(split + 4) : '' })
    })
    if (r.leaves) socket.end(bytes)
    else socket.write(bytes)
  })
}

function describeRequest(r: Request): string {
  const body = r.body === undefined ? '' : ` body(${r.body.length} B): ${String(r.body).slice(0, 80)}`
  return r.raw ? `raw ${JSON.stringify(r.raw.toString('latin1').slice(0, 100))}` : `${r.method} ${r.target.slice(0, 120)}${body}`
}

/** Never a 5xx; every 4xx (except to HEAD, which has no body) in the contract's error shape. */
function expectClientAnswer(r: Request, a: Answer): void {
  const what = `${describeRequest(r)} → ${a.status} ${a.body.slice(0, 200)}`
  if (r.leaves && a.status === undefined) return // it left before an answer was possible
  expect(a.status, what).toBeDefined()
  expect(a.status!, what).toBeLessThan(500)
  // A chunked body whose framing breaks after the headers were accepted: Node's HTTP parser itself
  // answers the request in flight with a bare 400 before the service sees anything.
  if (r.raw && a.status === 400 && /^0\r\n/.test(a.body)) return
  if (a.status! >= 400 && r.method !== 'HEAD') {
    let parsed: { error?: { code?: unknown; message?: unknown } }
    try {
      parsed = JSON.parse(a.body) as typeof parsed
    } catch {
      throw new Error(`not the contract's error shape: ${what}`)
    }
    expect(typeof parsed.error?.code, what).toBe('string')
    expect(typeof parsed.error?.message, what).toBe('string')
  }
}

const UUID = '01890a5d-ac96-774b-bcce-b302099a8057'
const valid = () => JSON.stringify(taskBody('linear'))
const nested = (depth: number, leaf = '1') => '{"a":'.repeat(depth) + leaf + '}'.repeat(depth)

/** The cases a reviewer would write by hand. */
function fixedCases(): Array<Request & { expect?: number }> {
  const cases: Array<Request & { expect?: number }> = []
  const get = (target: string, expectStatus?: number) => cases.push({ method: 'GET', target, expect: expectStatus })
  // task ids: malformed percent-encodings, not UUIDs, almost UUIDs
  for (const id of ['%E0', '%', '%zz', '%C0%80', '%ED%A0%80', '%FF%FE', '%00', '%E0%A4', 'not-a-uuid', `${UUID}x`, UUID.toUpperCase().replace(/-/g, ''), '..%2F..%2Fetc%2Fpasswd', 'x'.repeat(8000), '%25', "'%20OR%201=1--"]) {
    get(`/v1/tasks/${id}`, 400)
  }
  get(`/v1/tasks/${UUID}`, 404)
  // request targets that are not paths, odd paths and query strings
  for (const target of ['//[', '//a:b@[', '/%E0', '/v1//tasks', '/v1/tasks/a/b', '*', 'http://[::1', '/v1/tasks?page=%E0', '/v1/tasks?page=-1', '/v1/tasks?page=99999999999999999999', '/v1/tasks?per_page=0', '/v1/tasks?status=%E0', `/v1/tasks?namespace=${'n'.repeat(300)}`, '/v1/tasks?page=1&page=x', '/health?%E0']) {
    get(target)
  }
  // methods: known ones on every route, and ones the parser does not know
  for (const target of ['/health', '/v1/tasks', `/v1/tasks/${UUID}`, '/nope']) {
    for (const method of ['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'FOO', 'get', 'CONNECT']) cases.push({ method, target })
  }
  // bodies: not JSON, not an object, wrong content types, wrong field types
  const post = (body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }, expectStatus?: number) =>
    cases.push({ method: 'POST', target: '/v1/tasks', body, headers, expect: expectStatus })
  for (const body of ['', 'null', '[]', '"x"', '1', '{', '{"name":', 'undefined', '\u0000', '{"a":1}{"b":2}']) post(body, undefined, 400)
  post(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]))
  post(valid(), { 'content-type': 'text/plain' })
  post('name=x&namespace=y', { 'content-type': 'application/x-www-form-urlencoded' }, 400)
  post('--b\r\ncontent-disposition: form-data; name="a"\r\n\r\n1\r\n--b--', { 'content-type': 'multipart/form-data; boundary=b' }, 400)
  post(valid(), {})
  post(valid(), { 'content-type': 'application/json; charset=utf-16' })
  const base = taskBody('linear')
  for (const [field, value] of [['name', 1], ['context', 'x'], ['context', []], ['tags', [1]], ['priority', 1e308], ['priority', 1.5], ['correlation_id', '%E0'], ['options', [1]], ['version', 'x'.repeat(10_000)], ['context', null]] as const) {
    post(JSON.stringify({ ...base, [field]: value }), undefined, 400)
  }
  post(JSON.stringify({ ...base, name: 'no_such_template' }), undefined, 404)
  // valid JSON whose text PostgreSQL cannot store: "\u0000" and lone surrogates, escaped as JSON.stringify writes them
  for (const body of unstorableBodies()) post(JSON.stringify(body), undefined, 400)
  post(JSON.stringify({ ...base, context: { ...base.context, bench_cpu_work: { linear_step_1: 1e12 } } }), undefined, 400)
  for (const namespace of ['%00', 'a%00b']) get(`/v1/tasks?namespace=${namespace}`, 400)
  // huge: over the limit (413), just under it as one string; a client that leaves mid-body
  post('x'.repeat(2 * 1024 * 1024), undefined, 413)
  post(JSON.stringify({ ...base, reason: 'r'.repeat(1024 * 1024 - 400) }), undefined, 400)
  cases.push({ method: 'POST', target: '/v1/tasks', headers: { 'content-type': 'application/json', 'content-length': '100000' }, body: valid(), leaves: true })
  // deeply nested: the whole body, the context of an otherwise valid request, the options
  post('['.repeat(300_000) + ']'.repeat(300_000), undefined, 400)
  post(JSON.stringify({ ...base, context: 'CTX' }).replace('"CTX"', nested(100_000)), undefined, 400)
  post(JSON.stringify({ ...base, options: 'OPT' }).replace('"OPT"', nested(5_000)), undefined, 400)
  // chunked transfer of a nested body
  const chunked = nested(50_000)
  cases.push({ method: 'POST', target: '/v1/tasks', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, body: `${chunked.length.toString(16)}\r\n${chunked}\r\n0\r\n\r\n`, expect: 400 })
  // malformed HTTP itself
  for (const raw of ['GET /health HTTP/9.9\r\n\r\n', 'GET\r\n\r\n', 'GET /health HTTP/1.1\r\nhost 127.0.0.1\r\n\r\n', `GET /health HTTP/1.1\r\nx: ${'h'.repeat(100_000)}\r\n\r\n`, 'POST /v1/tasks HTTP/1.1\r\ncontent-length: -5\r\n\r\n', 'POST /v1/tasks HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n']) {
    cases.push({ method: '(raw)', target: '', raw: Buffer.from(raw, 'latin1') })
  }
  return cases
}

/** Requests with "\u0000" or a lone surrogate in each stored field: reason, tags, context keys and values at any depth. */
function unstorableBodies() {
  const base = taskBody('linear')
  const ctx = (extra: Record<string, unknown>) => ({ ...base, context: { ...base.context, ...extra } })
  return [
    { ...base, reason: 'a\u0000b' },
    { ...base, tags: ['ok', 't\u0000'] },
    { ...base, initiator: '\ud800' },
    ctx({ 'k\u0000': 1 }),
    ctx({ k: 'v\u0000' }),
    ctx({ deep: [{ v: ['\u0000'] }] }),
    ctx({ k: '\ud800' }),
    ctx({ '\udc00': 1 }),
    ctx({ deep: { pair: '\ud83d\ude00', lone: 'x\ud83d' } }),
  ]
}

const pick = <T,>(rnd: Random, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!

/** A request made of random parts: paths with random (often broken) escapes, methods, bodies. */
function randomCase(rnd: Random): Request {
  const segment = () => {
    let s = ''
    const n = Math.floor(rnd() * 40)
    for (let i = 0; i < n; i++) {
      const r = rnd()
      if (r < 0.3) s += '%' + Math.floor(rnd() * 256).toString(16).padStart(2, '0')
      else if (r < 0.4) s += pick(rnd, ['%', '%e', '%g0', '/', '..', '?', '#', '&', '=', ';'])
      else s += pick(rnd, [...'abcdef0123456789-_.~'])
    }
    return s
  }
  const prefix = pick(rnd, ['/v1/tasks/', '/v1/tasks?page=', '/v1/tasks?status=', '/', '/health/', '//', `/v1/tasks/${UUID.slice(0, 20)}`])
  const method = pick(rnd, ['GET', 'GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH'])
  const contentType = pick(rnd, ['application/json', 'text/plain', 'application/octet-stream', '', 'application/json; charset=latin1'])
  let body: string | Buffer | undefined
  if (method === 'POST' || rnd() < 0.1) {
    const base = valid()
    const r = rnd()
    if (r < 0.25) body = base.slice(0, Math.floor(rnd() * base.length))
    else if (r < 0.5) body = Buffer.from(Array.from({ length: Math.floor(rnd() * 200) }, () => Math.floor(rnd() * 256)))
    else if (r < 0.7) body = nested(Math.floor(rnd() * 2000), pick(rnd, ['1', '[]', '"x"', 'null']))
    else {
      const chars = [...base]
      for (let i = 0; i < 3; i++) chars[Math.floor(rnd() * chars.length)] = pick(rnd, ['{', '}', '"', '\\', ',', ':', '\u00e0', '\u0000', '\\u0000', '\\ud800'])
      body = chars.join('')
    }
  }
  return { method, target: prefix + segment(), headers: contentType ? { 'content-type': contentType } : {}, body }
}

describe('REST API under fuzzing', () => {
  const o = useOrchestrator({ workers: 1 })
  const port = () => Number(new URL(o.url).port)

  test('hand-written bad requests: no 5xx, 4xx in the error shape, the expected status where one is given', async () => {
    const cases = fixedCases()
    for (const c of cases) {
      const answer = await send(port(), c)
      expectClientAnswer(c, answer)
      if (c.expect !== undefined) expect(answer.status, `${describeRequest(c)} → ${answer.body.slice(0, 200)}`).toBe(c.expect)
    }
    expect(cases.length).toBeGreaterThan(100)
  }, 240_000)

  test('GET /v1/tasks/%E0 is a 400 INVALID_UUID (a malformed percent-encoding is the client’s mistake)', async () => {
    const answer = await send(port(), { method: 'GET', target: '/v1/tasks/%E0' })
    expect(answer.status).toBe(400)
    expect(JSON.parse(answer.body)).toEqual({ error: { code: 'INVALID_UUID', message: expect.stringContaining('%E0') } })
  })

  test('"\\u0000" or a lone surrogate in a stored field is a 400 naming the field, not a failed insert', async () => {
    for (const body of unstorableBodies()) {
      const answer = await send(port(), { method: 'POST', target: '/v1/tasks', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      expect(answer.status, answer.body).toBe(400)
      const { error } = JSON.parse(answer.body) as { error: { code: string; message: string } }
      expect(error.code).toBe('BAD_REQUEST')
      expect(error.message).toMatch(/^field '(reason|tags\[1\]|initiator|context[^']*)' .*(U\+0000|lone UTF-16 surrogate)/)
    }
    const list = await send(port(), { method: 'GET', target: '/v1/tasks?namespace=%00' })
    expect(list.status).toBe(400)
    expect(JSON.parse(list.body).error.message).toMatch(/query parameter 'namespace' contains U\+0000/)
    expect(errorLines(o.orchestrator.logDir)).toEqual([])
  }, 60_000)

  test(`${RANDOM_CASES} seeded random requests: never a 5xx`, async () => {
    const rnd = seededRandom(20260412)
    const deadline = Date.now() + RANDOM_DEADLINE_MS
    let sent = 0
    for (let i = 0; i < RANDOM_CASES && Date.now() < deadline; i++) {
      const c = randomCase(rnd)
      expectClientAnswer(c, await send(port(), c))
      sent++
    }
    expect(sent).toBeGreaterThan(50)
  }, RANDOM_DEADLINE_MS + 60_000)

  test('afterwards the service is up, answers /health and still creates tasks, and logged no failure', async () => {
    const health = await getJson(`${o.url}/health`)
    expect(health.status).toBe(200)
    expect(health.body.status).toBe('healthy')
    const created = await send(port(), { method: 'POST', target: '/v1/tasks', headers: { 'content-type': 'application/json' }, body: valid() })
    expect(created.status).toBe(201)
    expect(errorLines(o.orchestrator.logDir)).toEqual([])
  }, 60_000)
})
