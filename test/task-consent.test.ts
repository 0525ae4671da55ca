/**
 * An external orchestrator gets tasks only with BENCH_CREATE_TASKS=true. Without it, the benches
 * that create tasks skip, each saying what the run would create, where and how to allow it, and
 * the deployment (a stub API on loopback that records every request) receives no POST.
 * With it, tasks reach the API: test/load-failures.test.ts runs the load bench that way.
 */
import { readFileSync, rmSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { loadSettings } from '../harness/config/settings.ts'
import { taskConsentLine, tasksPerBench, tasksRefused, templateNamespaces } from '../harness/main/orchestrator/task-consent.ts'
import { runBench } from './support/run-bench.ts'

const ROOT = path.resolve(import.meta.dirname, '..')
const TEMPLATES = path.join(ROOT, 'fixtures/templates')
const TASK_BENCHES = ['task-initialization', 'step-enqueueing', 'e2e-latency', 'baselines', 'load']
const settingsFor = (env: Record<string, string>) => loadSettings({ env, root: ROOT })
const total = (env: Record<string, string>) => Object.values(tasksPerBench(settingsFor(env))).reduce((a, b) => a + b, 0)

describe('what the consent line says', () => {
  test('the benches that create tasks, roughly how many, scaled with the settings', () => {
    const full = tasksPerBench(settingsFor({}))
    expect(Object.keys(full)).toEqual(TASK_BENCHES)
    expect(full.load).toBe((25 + 50 + 100 + 200) * 10)
    expect(tasksPerBench(settingsFor({ BENCH_LOAD_RATES: '5', BENCH_LOAD_SECONDS: '3' })).load).toBe(15)
    expect(total({ BENCH_E2E_SAMPLES: '400' })).toBeGreaterThan(total({}))
    expect(total({ BENCH_PROFILE: 'smoke' })).toBeLessThan(total({}) / 10)
  })

  test('the scaling bench counts when it is on (BENCH_SCALING=true): its ceiling tasks, then its rate for 10 s (2 s in smoke)', () => {
    const scaling = (env: Record<string, string>) => tasksPerBench(settingsFor({ BENCH_SCALING: 'true', ...env }))
    expect(Object.keys(scaling({}))).toEqual([...TASK_BENCHES, 'scaling'])
    expect(scaling({}).scaling).toBe(300 + 20 * 10)
    expect(scaling({ BENCH_SCALING_RATE: '50' }).scaling).toBe(300 + 50 * 10)
    expect(scaling({ BENCH_PROFILE: 'smoke', BENCH_SCALING_RATE: '50' }).scaling).toBe(5 + 50 * 2)
    expect(total({ BENCH_SCALING: 'true' })).toBe(total({}) + 500)
  })

  test('.env.example, the README and docs/deployments.md state the totals as the code estimates them', () => {
    const full = (Math.round(total({}) / 100) * 100).toLocaleString('en-US')
    const example = readFileSync(path.join(ROOT, '.env.example'), 'utf8')
    expect(/about ([\d,]+) tasks in the full profile/.exec(example)?.[1]).toBe(full)
    for (const page of ['README.md', 'docs/deployments.md']) {
      const text = readFileSync(path.join(ROOT, page), 'utf8')
      expect(/about ([\d,]+) in the full profile, ([\d,]+) in smoke/.exec(text)?.slice(1), page).toEqual([full, total({ BENCH_PROFILE: 'smoke' }).toLocaleString('en-US')])
    }
  })

  test('the namespaces are read from the templates', () => {
    expect(templateNamespaces(TEMPLATES)).toEqual(['diamond_workflow', 'enqueue_benchmark', 'linear_workflow', 'mixed_dag_workflow', 'tree_workflow'])
    expect(templateNamespaces(path.join(ROOT, 'no-such-dir'))).toEqual([])
  })

  test('names the consent, the place (password hidden) and what would be created', () => {
    const settings = settingsFor({ BENCH_PROFILE: 'smoke' })
    const refused = tasksRefused(settings, 'http://bench:s3cret@orch.example:8080', TEMPLATES)
    expect(refused).toBe(
      `creates no tasks in the deployment at http://bench:***@orch.example:8080 (set BENCH_CREATE_TASKS=true to let the run create about ${total({ BENCH_PROFILE: 'smoke' })} tasks ` +
        '(namespaces diamond_workflow, enqueue_benchmark, linear_workflow, mixed_dag_workflow, tree_workflow; templates in fixtures/templates) through its API (POST /v1/tasks); they run on its workers and stay in its database)',
    )
    expect(taskConsentLine(settings, 'http://orch.example:8080', TEMPLATES)).toMatch(/^tasks: none in the deployment at http:\/\/orch.example:8080: BENCH_CREATE_TASKS is not set, so the benches that create tasks \(task-initialization ~\d+, .*load ~20\) skip/)
    expect(taskConsentLine({ ...settings, BENCH_CREATE_TASKS: true }, 'http://orch.example:8080', TEMPLATES)).toMatch(/^tasks: BENCH_CREATE_TASKS=true: the benches create about \d+ tasks \(namespaces .*\) through its API .* at http:\/\/orch.example:8080/)
  })
})

describe('an external orchestrator without BENCH_CREATE_TASKS', () => {
  let server: http.Server
  let url: string
  const requests: string[] = []
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`)
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' })
        res.end(JSON.stringify(body))
      }
      if (req.method === 'GET' && req.url === '/health') return json(200, { status: 'healthy' })
      if (req.method === 'GET' && req.url?.startsWith('/v1/tasks?')) return json(200, { tasks: [], pagination: { page: 1, per_page: 1, total_count: 0, total_pages: 0 } })
      json(503, { error: { code: 'UNAVAILABLE', message: 'a stub: no task may be created here' } })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  })

  test('gets no task: every bench that creates tasks skips, saying what it would create and how to allow it', async () => {
    const run = await runBench(TASK_BENCHES.map((b) => `benchmarks/${b}.bench.ts`), { BENCH_PROFILE: 'smoke', TASKER_ORCHESTRATION_URL: url, BENCH_TRACES: 'off' })
    for (const dir of [run.resultsDir, run.tmpDir]) rmSync(dir, { recursive: true, force: true })
    expect(run.code, run.output).toBe(0)
    expect(requests.filter((r) => !r.startsWith('GET '))).toEqual([])
    expect(run.output).toContain(`tasks: none in the deployment at ${url}: BENCH_CREATE_TASKS is not set`)
    for (const bench of ['task-initialization', 'step-enqueueing', 'e2e', 'baselines', 'load']) {
      expect(run.output).toContain(`[${bench}] skipped: creates no tasks in the deployment at ${url} (set BENCH_CREATE_TASKS=true to let the run create about`)
    }
  }, 240_000)
})
