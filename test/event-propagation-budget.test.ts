/**
 * The event-propagation bench as a user runs it, in the smoke profile: it passes with the default
 * budgets, and an impossible budget fails the run with bench, metric, observed value and limit.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { afterAll, expect, test } from 'vitest'
import { runBench, type BenchRun } from './support/run-bench.ts'

const FILE = 'benchmarks/event-propagation.bench.ts'
const env = { BENCH_PROFILE: 'smoke', BENCH_POSTGRES: 'embedded', BENCH_ORCHESTRATOR: 'off' }
const runs: BenchRun[] = []
afterAll(() => {
  for (const r of runs) for (const dir of [r.resultsDir, r.tmpDir]) rmSync(dir, { recursive: true, force: true })
})

test('passes with the default budgets and writes a results file', async () => {
  const run = await runBench([FILE], env)
  runs.push(run)
  expect(run.output).toContain('PostgreSQL: embedded (BENCH_POSTGRES=embedded)')
  expect(run.code, run.output.slice(-3000)).toBe(0)
  const latest = path.join(run.resultsDir, 'latest.json')
  expect(existsSync(latest)).toBe(true)
  const doc = JSON.parse(readFileSync(latest, 'utf8'))
  const small = doc.results.find((r: { bench: string }) => r.bench === 'notify small payload')
  expect(small).toMatchObject({ n: expect.any(Number), p95: expect.any(Number), p99: expect.any(Number) })
  expect(doc.environment.pgmq.kind).toMatch(/extension|compatible/)
})

test('fails under an impossible budget, naming bench, metric, observed and limit', async () => {
  const run = await runBench([FILE], { ...env, BENCH_BUDGET_SCALE: '1', BENCH_BUDGETS: 'event-propagation/notify small payload=p(95)<0.0001' })
  runs.push(run)
  expect(run.code).not.toBe(0)
  expect(run.output).toMatch(/budget violated: event-propagation > notify small payload: p\(95\) = [\d.]+ ms, limit < 0\.0001 ms/)
})

test('a malformed budget expression fails at start naming the key and expression', async () => {
  const run = await runBench([FILE], { ...env, BENCH_BUDGETS: 'event-propagation/*=p95 under 10' })
  runs.push(run)
  expect(run.code).not.toBe(0)
  expect(run.output).toContain('p95 under 10')
  expect(run.output).not.toContain('PostgreSQL: embedded')
})
