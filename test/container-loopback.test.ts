/**
 * Container mode's PostgreSQL (issue 21 §5): its superuser gets a random password per start, not
 * Testcontainers' well-known "test", and its port is published on 127.0.0.1 only. Checked on
 * what reaches the engine — the body of Docker's `POST /containers/create` — sent to a stand-in
 * engine on a Unix socket (DOCKER_HOST), which answers the few calls before it and refuses the
 * create, so no engine is needed. (The container stage runs the real path where dockerd starts.)
 */
import http from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { containerRunId, RUN_LABEL, startContainerPostgres } from '../harness/main/postgres/container.ts'

interface CreateBody {
  Env?: string[]
  Labels?: Record<string, string>
  HostConfig?: { PortBindings?: Record<string, { HostIp?: string; HostPort?: string }[]> }
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'tasker-bench-fake-engine-'))
const socket = path.join(dir, 'docker.sock')
const creates: CreateBody[] = []
const unexpected: string[] = []

const engine = http.createServer((req, res) => {
  let body = ''
  req.on('data', (d) => (body += d))
  req.on('end', () => {
    const route = new URL(req.url ?? '/', 'http://engine').pathname.replace(/^\/v[\d.]+/, '')
    const send = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(value))
    }
    if (route === '/_ping') return res.end('OK')
    if (route === '/info') return send(200, { ServerVersion: 'fake', OperatingSystem: 'stand-in engine', OSType: 'linux', Architecture: 'x86_64', NCPU: 1, MemTotal: 1 })
    if (route === '/version') return send(200, { Version: 'fake', ApiVersion: '1.41' })
    if (req.method === 'GET' && /^\/images\/.+\/json$/.test(route)) return send(200, { Id: 'sha256:0' })
    if (req.method === 'GET' && (route === '/images/json' || route === '/containers/json')) return send(200, [])
    if (req.method === 'POST' && route === '/containers/create') {
      creates.push(JSON.parse(body) as CreateBody)
      return send(500, { message: 'stand-in engine: creates nothing' })
    }
    unexpected.push(`${req.method} ${route}`)
    send(404, { message: `stand-in engine: no ${req.method} ${route}` })
  })
})

beforeAll(async () => {
  await new Promise<void>((r) => engine.listen(socket, r))
  // This test file's own process: Testcontainers reads these when it first connects.
  process.env.DOCKER_HOST = `unix://${socket}`
  process.env.TESTCONTAINERS_HOST_OVERRIDE = 'localhost'
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true'
})
afterAll(async () => {
  await new Promise((r) => engine.close(r))
  rmSync(dir, { recursive: true, force: true })
})

describe('the container that container mode asks the engine for', () => {
  test('publishes PostgreSQL on 127.0.0.1 only, with a random superuser password per start', async () => {
    for (let i = 0; i < 2; i++) await expect(startContainerPostgres('tasker-bench/postgres:15-local')).rejects.toThrow(/stand-in engine: creates nothing/)
    expect(unexpected).toEqual([])
    expect(creates).toHaveLength(2)
    const passwords = creates.map((c) => c.Env?.find((e) => e.startsWith('POSTGRES_PASSWORD='))?.slice('POSTGRES_PASSWORD='.length))
    for (const [i, c] of creates.entries()) {
      expect(c.HostConfig?.PortBindings, `start ${i + 1}`).toEqual({ '5432/tcp': [{ HostIp: '127.0.0.1', HostPort: '0' }] })
      expect(c.Labels?.[RUN_LABEL]).toBe(containerRunId())
      expect(passwords[i], `start ${i + 1}`).toMatch(/^[A-Za-z0-9_-]{32}$/)
    }
    expect(passwords[0]).not.toBe(passwords[1])
  })
})
