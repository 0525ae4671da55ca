/**
 * The load bench when every task fails: it reports the failures (count and reason) and fails,
 * instead of stopping on a RangeError from summarising no latencies. The orchestrator is a stub
 * API on loopback whose POST /v1/tasks always answers 503.
 */
import { rmSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { runBench } from './support/run-bench.ts'

describe('load bench, every task failing', () => {
  let server: http.Server
  let url: string
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' })
        res.end(JSON.stringify(body))
      }
      if (req.method === 'GET' && req.url === '/health') return json(200, { status: 'healthy' })
      if (req.method === 'GET' && req.url?.startsWith('/v1/tasks?')) return json(200, { tasks: [], pagination: { page: 1, per_page: 1, total_count: 0, total_pages: 0 } })
      if (req.method === 'POST' && req.url === '/v1/tasks') return json(503, { error: { code: 'UNAVAILABLE', message: 'down for the test' } })
      json(404, { error: { code: 'NOT_FOUND', message: `${req.method} ${req.url}` } })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  })

  test('reports how many failed and why, then fails the test', async () => {
    const run = await runBench(['benchmarks/load.bench.ts'], {
      BENCH_PROFILE: 'smoke',
      TASKER_ORCHESTRATION_URL: url,
      BENCH_CREATE_TASKS: 'true',
      BENCH_TRACES: 'off',
      BENCH_LOAD_RATES: '5',
      BENCH_LOAD_SECONDS: '1',
    })
    for (const dir of [run.resultsDir, run.tmpDir]) rmSync(dir, { recursive: true, force: true })
    expect(run.output).not.toMatch(/RangeError/)
    expect(run.output).toContain('[load] 5/s: 0/5 completed, 0.0 tasks/s achieved, no task completed, so no latency')
    expect(run.output).toContain('5 failed: POST /v1/tasks → 503 UNAVAILABLE: down for the test')
    expect(run.output).toMatch(/tasks that failed under load/)
    expect(run.code).not.toBe(0)
  }, 240_000)
})
