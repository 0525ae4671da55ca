/**
 * npm run load:distributed, run small: two Artillery generator processes share the load profile
 * against the embedded reference orchestrator, and the merged result lands in the suite's results
 * file under the load bench's names, with the budgets checked (one that holds, one missed target),
 * sane numbers, and nothing left behind. The first run installs the load engine (npm ci into
 * .cache/load-engine/, about 3 minutes), hence the long timeout; the assertions are on structure,
 * not timings. That run is a stage of its own in .ci/run (TASKER_TEST_LOAD_ENGINE=1), outside
 * `npm test`, whose 10 minutes it would otherwise mostly spend installing.
 */
import { spawnSync } from 'node:child_process'
import { readdirSync, rmSync } from 'node:fs'
import path from 'node:path'
import { afterAll, expect, test } from 'vitest'
import { readResultsFile } from '../harness/results/read.ts'
import { shareArrivals } from '../harness/main/load-engine/script.ts'
import { ArrivalSchedule } from '../harness/bench/load-engine/artillery-processor.ts'
import { privateTmpDir } from './support/run-bench.ts'

const tmp = privateTmpDir()
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

test('the load profile is dealt over the generators, each a uniform process of its share', () => {
  expect(shareArrivals(10, 3, 2)).toEqual([
    { index: 0, arrivals: 15, intervalMs: 200 },
    { index: 1, arrivals: 15, intervalMs: 200 },
  ])
  expect(shareArrivals(25, 1, 2).map((s) => s.arrivals)).toEqual([13, 12])
  expect(() => shareArrivals(1, 1, 2)).toThrow(/1 task\(s\), fewer than the 2 generators: lower --generators/)
})

test('intended starts: a late first arrival moves the schedule, never an intended start after its arrival', () => {
  const schedule = new ArrivalSchedule(100)
  // The first arrival is 30 ms late; the next ones are on time (100, 200) and one is 50 ms late.
  const arrivals = [30, 100, 200, 350]
  const intended = arrivals.map((t) => schedule.arrive(t))
  expect(intended.map((at) => at())).toEqual([0, 100, 200, 300])
  intended.forEach((at, i) => expect(at()).toBeLessThanOrEqual(arrivals[i]!))
})

const ENGINE = process.env.TASKER_TEST_LOAD_ENGINE === '1'

test.skipIf(!ENGINE)('two generators against the embedded reference land in the results as the load bench, budgets checked (TASKER_TEST_LOAD_ENGINE=1; a stage of .ci/run)', () => {
  const results = path.join(tmp, 'results')
  const run = spawnSync(process.execPath, ['scripts/load-distributed.ts', '--generators', '2'], {
    encoding: 'utf8',
    timeout: 1_100_000,
    env: {
      ...process.env,
      TMPDIR: tmp,
      BENCH_PROFILE: 'smoke',
      BENCH_LOAD_RATES: '10',
      BENCH_LOAD_SECONDS: '3',
      BENCH_RESULTS_DIR: results,
      BENCH_BUDGETS: 'load/load linear @10/s=p(99)<60000,target p(50)<0.001',
      BENCH_BASELINE: '',
    },
  })
  expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0)
  expect(run.stdout).toMatch(/10 tasks\/s for 3 s: 30 linear tasks over 2 generator processes \(15 \+ 15\)/)
  expect(run.stdout).toMatch(/10\/s over 2 generators: 30\/30 completed/)

  const doc = readResultsFile(path.join(results, 'latest.json'))
  expect(doc.results).toHaveLength(1)
  const r = doc.results[0]!
  expect({ file: r.file, module: r.module, test: r.test, bench: r.bench, source: r.source, state: r.state }).toEqual({
    file: 'load',
    module: 'benchmarks/load.bench.ts',
    test: '10 linear tasks/s > for 3 s',
    bench: 'load linear @10/s',
    source: 'samples',
    state: 'passed',
  })
  expect(r.n).toBe(30) // every completion is in the merged sketch
  expect(r.min).toBeGreaterThan(0)
  expect(r.min).toBeLessThanOrEqual(r.p50)
  expect(r.p50).toBeLessThanOrEqual(r.p99)
  expect(r.p99).toBeLessThanOrEqual(r.max)
  expect(r.max).toBeLessThan(30_000)
  expect(r.budgets.map((b) => [b.expression, b.passed, b.target ?? false])).toEqual([
    ['p(99)<60000', true, false],
    ['target p(50)<0.001', false, true],
  ])
  expect(r.extra).toMatchObject({
    completionMode: 'event',
    arrivals: 30,
    completed: 30,
    failed: 0,
    abandoned: 0,
    loadEngine: { name: 'artillery', generators: 2, generatorsMerged: 2 },
  })
  expect(r.samples!.length).toBe(30)
  // The usual reports sit next to the results; the generators' files and processes are gone.
  expect(readdirSync(results)).toEqual(expect.arrayContaining(['latest.json', 'summary.md']))
  expect(readdirSync(tmp).filter((f) => f !== 'results')).toEqual([])
}, 1_200_000)
