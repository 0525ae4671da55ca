/**
 * No URL password in anything the suite prints or records. Every URL-typed setting of
 * harness/config/settings.ts (found through urlVariables(), so a new one is covered without touching this
 * file) is given a URL with user:password, and `vitest bench` runs the way a user runs it: once with
 * every such URL reachable, and once per variable with that one pointing at a closed port. The
 * passwords (and any URL password at all, such as the embedded PostgreSQL's) must appear nowhere in
 * the console output, the results directory (results JSON, reports, logs) or the run's temp files;
 * the redacted form (user:***@host:port) must, so the URL was really printed. The HTTP endpoints
 * check the Basic authorization the credentials mean, so credentialed URLs also work.
 */
import http from 'node:http'
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { redactUrl, urlVariables } from '../harness/config/settings.ts'
import { redactCredentials } from '../harness/config/credentials.ts'
import { migrateTasker, usePostgres } from './support/postgres.ts'
import { runBench, type BenchRun } from './support/run-bench.ts'

const FILE = 'benchmarks/event-propagation.bench.ts'
const HTTP_USER = 'bench-user'
const HTTP_SECRET = 'Sekr3t-h77p-pa55word'
/** A password in a URL that is not redacted: `//user:secret@` with secret ≠ *** */
const UNREDACTED = /:\/\/[^\s/?#@:'"`]*:(?!\*\*\*@)[^\s/?#@'"`]+@/

// A Tasker database: the suite measures it and never installs anything into it.
const db = usePostgres(migrateTasker)
let fake: http.Server
let fakePort = 0
let closedPort = 0
const requests: { path: string; authorized: boolean }[] = []

function listen(server: http.Server | net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)))
}

beforeAll(async () => {
  const expected = `Basic ${Buffer.from(`${HTTP_USER}:${HTTP_SECRET}`).toString('base64')}`
  // Stands in for an orchestration API (/health) and a Jaeger (/api/services) or Tempo (/ready).
  fake = http.createServer((req, res) => {
    const authorized = req.headers.authorization === expected
    requests.push({ path: req.url ?? '', authorized })
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    if (!authorized) return send(401, { error: { code: 'UNAUTHORIZED', message: 'Basic authorization required' } })
    if (req.url === '/health') return send(200, { status: 'healthy' })
    if (req.url === '/api/services') return send(200, { data: [] })
    if (req.url === '/ready') return send(200, 'ready')
    send(404, { error: { code: 'NOT_FOUND', message: 'no such route' } })
  })
  fakePort = await listen(fake)
  const closed = net.createServer()
  closedPort = await listen(closed)
  await new Promise((r) => closed.close(r))
}, 30_000)
afterAll(() => new Promise<void>((r) => (fake ? fake.close(() => r()) : r())))

/** A credentialed URL for the variable, reachable or at a closed port. */
function urlFor(protocols: string[], reachable: boolean): { url: string; secret: string } {
  if (protocols.includes('postgres:')) {
    const u = new URL(db.server.url)
    if (!reachable) u.port = String(closedPort)
    return { url: u.toString(), secret: decodeURIComponent(u.password) }
  }
  const protocol = protocols.includes('http:') ? 'http:' : protocols[0]!
  return { url: `${protocol}//${HTTP_USER}:${HTTP_SECRET}@127.0.0.1:${reachable ? fakePort : closedPort}`, secret: HTTP_SECRET }
}

/** Every text the run left behind: console output, result files, reports, logs, temp files. */
function everythingRecorded(run: BenchRun): Array<{ where: string; text: string }> {
  const found = [{ where: 'console output', text: run.output }]
  const walk = (dir: string) => {
    if (!existsSync(dir)) return
    for (const entry of readdirSync(dir)) {
      const full = path.join(dir, entry)
      const stat = statSync(full, { throwIfNoEntry: false })
      if (!stat) continue
      if (stat.isDirectory()) walk(full)
      else if (stat.size < 50 * 1024 * 1024) found.push({ where: full, text: readFileSync(full, 'utf8') })
    }
  }
  walk(run.resultsDir)
  walk(run.tmpDir)
  return found
}

function expectNoPassword(run: BenchRun, secrets: string[]): void {
  const texts = everythingRecorded(run)
  expect(texts.length).toBeGreaterThan(0)
  for (const { where, text } of texts) {
    for (const secret of secrets) expect(text.includes(secret), `a password appears in ${where}`).toBe(false)
    const leak = UNREDACTED.exec(text)
    expect(leak, `an unredacted URL password in ${where}: ${leak ? redactCredentials(text.slice(Math.max(0, leak.index - 40), leak.index + 80)) : ''}`).toBeNull()
  }
}

/** user:***@host:port of the URL, as a printed line shows it. */
function redactedForm(url: string): string {
  const u = new URL(redactUrl(url))
  return `${u.username}:***@${u.host}`
}

async function run(env: Record<string, string>): Promise<BenchRun> {
  const result = await runBench([FILE], { BENCH_PROFILE: 'smoke', BENCH_SEED: 'true', ...env }, 240_000)
  return result
}

function removeRun(r: BenchRun): void {
  for (const dir of [r.resultsDir, r.tmpDir]) rmSync(dir, { recursive: true, force: true })
}

describe('what the redaction hides, and what it keeps', () => {
  // Cases of issue 21 §6: a `?password=` parameter, and a raw `@` inside the userinfo.
  test('redactUrl: a password in the query is hidden, other parameters stay', () => {
    const shown = redactUrl('postgres://db:5432/x?sslmode=require&password=hunter2&sslpassword=k3y')
    expect(shown).not.toMatch(/hunter2|k3y/)
    expect(shown).toBe('postgres://db:5432/x?sslmode=require&password=***&sslpassword=***')
  })

  test('redactUrl: a raw @ in the password or user hides everything up to the last @ before the host', () => {
    expect(redactUrl('postgres://tasker:p@ss@db:5432/x')).toBe('postgres://tasker:***@db:5432/x')
    // unparseable (a raw `/` ends the authority early): still nothing of the password is shown
    const shown = redactUrl('postgres://tasker:se/cr@et@db:5432/x')
    expect(shown).not.toMatch(/se\/cr|et@/)
    expect(shown).toBe('postgres://tasker:***@db:5432/x')
  })

  test('redactCredentials: a raw @ in the password leaks nothing after it', () => {
    expect(redactCredentials('connect to postgres://tasker:p@ss@db:5432/x failed')).toBe('connect to postgres://tasker:***@db:5432/x failed')
    expect(redactCredentials('postgres://me@corp:hunter2@db/x')).toBe('postgres://me@corp:***@db/x')
    expect(redactCredentials("'postgres://u:a@b:c@db/x' and http://v:w@h2/")).toBe("'postgres://u:***@db/x' and http://v:***@h2/")
  })

  test('redactCredentials: password parameters, in a URL or a keyword connection string, are hidden', () => {
    expect(redactCredentials('postgres://db/x?sslmode=require&password=hunter2 refused')).toBe('postgres://db/x?sslmode=require&password=*** refused')
    expect(redactCredentials('host=db user=u password=hunter2 dbname=x')).toBe('host=db user=u password=*** dbname=x')
    expect(redactCredentials('http://127.0.0.1:9/api?access_token=abc&n=1')).toBe('http://127.0.0.1:9/api?access_token=***&n=1')
  })

  test('what is not a secret stays as it was', () => {
    for (const text of ['http://127.0.0.1:8080/health', 'postgres://tasker@db:5432/x', 'mail bench@example.com at 10:30', 'postgres://db/x?sslmode=require', 'the password was wrong']) {
      expect(redactCredentials(text)).toBe(text)
    }
    expect(redactUrl('postgres://tasker@db:5432/x?application_name=a')).toBe('postgres://tasker@db:5432/x?application_name=a')
  })
})

const variables = urlVariables()

describe('URL passwords are never printed or recorded', () => {
  test('the URL settings are found (DATABASE_URL, TASKER_ORCHESTRATION_URL, BENCH_TRACES_URL at least)', () => {
    expect(variables.map((v) => v.name)).toEqual(expect.arrayContaining(['DATABASE_URL', 'TASKER_ORCHESTRATION_URL', 'BENCH_TRACES_URL']))
  })

  test('every URL setting reachable, with user:password: the run works, shows each URL redacted, records no password', async () => {
    const env: Record<string, string> = {}
    const secrets: string[] = []
    for (const v of variables) {
      const { url, secret } = urlFor(v.protocols, true)
      env[v.name] = url
      secrets.push(secret)
    }
    requests.length = 0
    const r = await run(env)
    try {
      expectNoPassword(r, secrets)
      expect(r.code, r.output.slice(-3000)).toBe(0)
      for (const v of variables) expect(r.output, `${v.name} printed redacted`).toContain(redactedForm(env[v.name]!))
      // the HTTP endpoints were called, each time with the Basic authorization the URL carried
      expect(requests.length).toBeGreaterThan(0)
      expect(requests.filter((q) => !q.authorized)).toEqual([])
    } finally {
      removeRun(r)
    }
  }, 300_000)

  for (const v of variables) {
    test(`${v.name} unreachable: the message names it redacted, and no password is printed or recorded`, async () => {
      const env: Record<string, string> = {}
      const secrets: string[] = []
      for (const other of variables) {
        const { url, secret } = urlFor(other.protocols, other.name !== v.name)
        env[other.name] = url
        secrets.push(secret)
      }
      const r = await run(env)
      try {
        expectNoPassword(r, secrets)
        expect(r.output, `${v.name} printed redacted`).toContain(redactedForm(env[v.name]!))
      } finally {
        removeRun(r)
      }
    }, 300_000)
  }
})
