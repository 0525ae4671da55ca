import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { TaskMeta, TestBenchmark } from 'vitest'
import type { TestModule, Vitest } from 'vitest/node'
import { afterAll, describe, expect, test } from 'vitest'
import { collectEnvironment, gitCommit } from '../harness/main/environment.ts'
import type { EnvironmentFingerprint } from '../harness/results/environment.ts'
import ResultsJsonReporter from '../harness/main/reporters/results-json.ts'
import { buildResultsDocument } from '../harness/results/document.ts'
import { benchFileStem } from '../harness/results/file-stem.ts'
import { readResultsFile, ResultsFileError, validateResultsDocument } from '../harness/results/read.ts'
import { annotateResult, recordSamples } from '../harness/bench/record.ts'
import type { RunInfo } from '../harness/results/run-info.ts'
import { writeResultsFiles } from '../harness/results/write.ts'
import { summarize } from '../harness/results/percentiles.ts'
import { checkTestResults } from '../harness/results/budgets/check-test.ts'
import { BudgetBook, loadRunBudgets, runBudgets } from '../harness/results/budgets/load.ts'
import { MAX_RETAINED_SAMPLES } from '../harness/results/retained-samples.ts'

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tasker-bench-results-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
let dirCount = 0
const freshDir = () => {
  const dir = path.join(tmp, `d${++dirCount}`)
  mkdirSync(dir)
  return dir
}

const environment: EnvironmentFingerprint = {
  node: 'v24.0.0',
  platform: 'linux',
  arch: 'x64',
  cpuModel: 'Test CPU',
  cpuCount: 2,
  memoryGiB: 4,
  commit: 'abc123',
  profile: 'full',
  timestamp: '2025-01-01T00:00:00.000Z',
  postgres: { mode: 'embedded', version: '18.1', reason: 'default' },
}

/** Meta as the bench hooks leave it: one bench measurement and one recordSamples() entry. */
function measuredMeta(): TaskMeta {
  const meta: TaskMeta = {}
  const task = { meta }
  recordSamples(task, 'step claim', [3, 1, 2], { phase: 'claim', completion: 'poll' })
  annotateResult(task, { completion: 'event', pollIntervalMs: 50 })
  meta.tasker!.measurements.unshift({
    name: 'small payload',
    source: 'bench',
    summary: summarize([1, 2, 3, 4]),
    budgets: [{ expression: 'p(95)<10', operator: '<', limit: 10, observed: 3.85, passed: true }],
  })
  return meta
}

describe('recordSamples / annotateResult', () => {
  test('store a summary and plain-JSON extra fields in task.meta', () => {
    const task = { meta: {} as TaskMeta }
    const summary = recordSamples(task, 'phase', [5, 1, 3], { when: new Date('2025-01-01T00:00:00Z'), skip: undefined })
    expect(summary).toMatchObject({ n: 3, min: 1, p50: 3, max: 5 })
    expect(task.meta.tasker).toEqual({
      measurements: [{ name: 'phase', source: 'samples', summary, samples: [1, 3, 5], extra: { when: '2025-01-01T00:00:00.000Z' } }],
      annotations: {},
    })
    annotateResult(task, { taskIds: ['a', 'b'] })
    annotateResult(task, { completion: 'poll' })
    expect(task.meta.tasker!.annotations).toEqual({ taskIds: ['a', 'b'], completion: 'poll' })
  })

  test('recording a name again replaces it', () => {
    const task = { meta: {} as TaskMeta }
    recordSamples(task, 'phase', [1])
    recordSamples(task, 'phase', [2, 2])
    expect(task.meta.tasker!.measurements.map((m) => m.summary.n)).toEqual([2])
  })

  test('errors name the measurement', () => {
    const task = { meta: {} as TaskMeta }
    expect(() => recordSamples(task, 'step claim', [])).toThrow(/^recordSamples\("step claim"\): cannot summarize an empty sample set/)
    expect(() => recordSamples(task, ' ', [1])).toThrow(/name must be a non-empty string/)
    expect(() => annotateResult(task, { big: 1n })).toThrow(/annotateResult: extra fields must be JSON-serialisable/)
  })
})

describe('buildResultsDocument', () => {
  test('one entry per measurement with the summary, budgets and merged extra fields', () => {
    const doc = buildResultsDocument(environment, [
      { module: 'benchmarks/event-propagation.bench.ts', test: 'notify > round trip', state: 'passed', meta: measuredMeta() },
      { module: 'benchmarks/event-propagation.bench.ts', test: 'no measurements', state: 'passed', meta: {} },
    ])
    expect(doc.schemaVersion).toBe(1)
    expect(doc.environment).toBe(environment)
    expect(doc.results).toHaveLength(2)
    expect(doc.results[0]).toEqual({
      file: 'event-propagation',
      module: 'benchmarks/event-propagation.bench.ts',
      test: 'notify > round trip',
      bench: 'small payload',
      source: 'bench',
      state: 'passed',
      unit: 'ms',
      ...summarize([1, 2, 3, 4]),
      budgets: [{ expression: 'p(95)<10', operator: '<', limit: 10, observed: 3.85, passed: true }],
      extra: { completion: 'event', pollIntervalMs: 50 },
    })
    // the measurement's own extra wins over the test's annotations
    expect(doc.results[1]).toMatchObject({ bench: 'step claim', source: 'samples', n: 3, budgets: [], extra: { completion: 'poll', pollIntervalMs: 50, phase: 'claim' } })
    expect(validateResultsDocument(JSON.parse(JSON.stringify(doc)), 'doc')).toEqual(doc)
  })

  test('benchFileStem', () => {
    expect(benchFileStem('benchmarks/event-propagation.bench.ts')).toBe('event-propagation')
    expect(benchFileStem('C:\\x\\sql-functions.bench.mts')).toBe('sql-functions')
    expect(benchFileStem('test/a.b.test.ts')).toBe('a.b')
  })
})

describe('the results-json reporter', () => {
  /** Just what the reporter reads of Vitest's TestModule / TestCase. */
  function fakeModule(relativeModuleId: string, tests: { name: string; state: string; meta: TaskMeta }[], run?: RunInfo): TestModule {
    return {
      relativeModuleId,
      project: { getProvidedContext: () => (run ? { run } : {}) },
      children: {
        *allTests() {
          for (const t of tests) yield { fullName: t.name, meta: () => t.meta, result: () => ({ state: t.state }) }
        },
      },
    } as unknown as TestModule
  }
  function fakeVitest(root: string, lines: string[]): Vitest {
    return { config: { root }, logger: { log: (line: string) => lines.push(line) } } as unknown as Vitest
  }

  test('writes bench-<timestamp>.json and latest.json into the RunInfo results dir', () => {
    const resultsDir = path.join(freshDir(), 'results', 'nested')
    const lines: string[] = []
    const reporter = new ResultsJsonReporter()
    reporter.onInit(fakeVitest(tmp, lines))
    reporter.onTestRunEnd([
      fakeModule('test/unit.test.ts', [{ name: 'plain', state: 'passed', meta: {} }]),
      fakeModule('benchmarks/event-propagation.bench.ts', [{ name: 'notify', state: 'failed', meta: measuredMeta() }], { environment, resultsDir, profile: 'full' } as RunInfo),
    ])

    const files = readdirSync(resultsDir).sort()
    // the results, then the reports made from them (harness/offline/report/write-reports.ts)
    expect(files).toEqual([
      expect.stringMatching(/^bench-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z\.json$/),
      'benchmark-action.json',
      'bmf.json',
      'latest.json',
      'report.html',
      'summary.md',
    ])
    const doc = readResultsFile(path.join(resultsDir, files[0]!))
    expect(doc).toEqual(readResultsFile(path.join(resultsDir, 'latest.json')))
    expect(doc.environment).toEqual(environment)
    expect(doc.results.map((r) => [r.file, r.test, r.bench, r.state])).toEqual([
      ['event-propagation', 'notify', 'small payload', 'failed'],
      ['event-propagation', 'notify', 'step claim', 'failed'],
    ])
    expect(lines[0]).toMatch(/^results: .*bench-.*\.json \(2 measurements\)$/)
  })

  test('writes nothing when nothing was measured', () => {
    const dir = freshDir()
    const reporter = new ResultsJsonReporter()
    reporter.onInit(fakeVitest(dir, []))
    reporter.onTestRunEnd([fakeModule('test/unit.test.ts', [{ name: 'plain', state: 'passed', meta: {} }])])
    expect(readdirSync(dir)).toEqual([])
  })

  test('notes a budget key that matched no bench of a file that ran completely', () => {
    const root = freshDir()
    mkdirSync(path.join(root, 'fixtures'))
    writeFileSync(path.join(root, 'fixtures', 'budgets.yaml'), "event-propagation:\n  '*': [p(95)<10]\n  small paylod: [p(99)<20]\n")
    const resultsDir = path.join(root, 'out')
    const lines: string[] = []
    const reporter = new ResultsJsonReporter()
    reporter.onInit(fakeVitest(root, lines))
    const run = { environment, resultsDir, profile: 'full', budgets: loadRunBudgets(budgetSettings(root), 'external').toData() } as RunInfo
    reporter.onTestRunEnd([fakeModule('benchmarks/event-propagation.bench.ts', [{ name: 'notify', state: 'passed', meta: measuredMeta() }], run)])
    expect(lines.filter((l) => l.startsWith('note:'))).toEqual(['note: budgets for "event-propagation > small paylod" matched no bench of event-propagation (bench names are case-sensitive)'])

    lines.length = 0 // a filtered run (a skipped test) proves nothing about the missing name
    reporter.onTestRunEnd([
      fakeModule('benchmarks/event-propagation.bench.ts', [
        { name: 'notify', state: 'passed', meta: measuredMeta() },
        { name: 'other', state: 'skipped', meta: {} },
      ], run),
    ])
    expect(lines.filter((l) => l.startsWith('note:'))).toEqual([])
  })

  test('the run’s one book, reference overlay included, makes the verdict, the written results and the notes', () => {
    const root = freshDir()
    mkdirSync(path.join(root, 'fixtures'))
    writeFileSync(path.join(root, 'fixtures', 'budgets.yaml'), 'event-propagation:\n  step claim: [p(95)<10]\n')
    writeFileSync(path.join(root, 'fixtures', 'budgets.reference.yaml'), 'event-propagation:\n  step claim: [p(95)<2]\n  batch: [p(95)<5]\n')
    // what the global setup provides, as a worker and the reporter receive it (serialised)
    const budgets = JSON.parse(JSON.stringify(loadRunBudgets(budgetSettings(root), 'embedded').toData()))
    const run = { environment, resultsDir: path.join(root, 'out'), profile: 'full', budgets } as RunInfo
    const meta: TaskMeta = {}
    recordSamples({ meta }, 'step claim', [1, 2, 3]) // p95 2.9: within the file's 10, over the overlay's 2
    const verdict = checkTestResults({ meta, benchmarks: [], file: { name: 'benchmarks/event-propagation.bench.ts' } }, () => runBudgets(run))
    expect(verdict.violations).toEqual(["budget violated: event-propagation > step claim: p(95) = 2.90 ms, limit < 2 ms"])

    const lines: string[] = []
    const reporter = new ResultsJsonReporter()
    reporter.onInit(fakeVitest(root, lines))
    reporter.onTestRunEnd([fakeModule('benchmarks/event-propagation.bench.ts', [{ name: 'claim', state: 'failed', meta }], run)])
    const written = readResultsFile(path.join(root, 'out', 'latest.json')).results[0]!
    expect(written.budgets).toEqual(meta.tasker!.measurements[0]!.budgets)
    expect(written.budgets).toEqual([expect.objectContaining({ expression: 'p(95)<2', limit: 2, passed: false })])
    // the notes read the same book: a key of the overlay alone is checked too
    expect(lines.filter((l) => l.startsWith('note:'))).toEqual(['note: budgets for "event-propagation > batch" matched no bench of event-propagation (bench names are case-sensitive)'])
  })
})

function budgetSettings(root: string) {
  return { root, BENCH_BUDGETS_FILE: 'fixtures/budgets.yaml', BENCH_BUDGETS: undefined, BENCH_BUDGET_SCALE: undefined, BENCH_PROFILE: 'full' as const }
}

describe('writeResultsFiles / readResultsFile', () => {
  const doc = () => buildResultsDocument(environment, [{ module: 'benchmarks/x.bench.ts', test: 't', state: 'passed', meta: measuredMeta() }])

  test('never overwrites an earlier file written in the same millisecond', () => {
    const dir = freshDir()
    const now = new Date('2025-02-03T04:05:06.789Z')
    const first = writeResultsFiles(doc(), dir, now)
    const second = writeResultsFiles(doc(), dir, now)
    expect(path.basename(first.file)).toBe('bench-2025-02-03T04-05-06-789Z.json')
    expect(path.basename(second.file)).toBe('bench-2025-02-03T04-05-06-789Z-2.json')
    expect(readdirSync(dir).sort()).toEqual([path.basename(first.file), path.basename(second.file), 'latest.json'].sort())
  })

  function writeJson(value: unknown): string {
    const file = path.join(freshDir(), 'r.json')
    writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value))
    return file
  }

  test.each([
    ['a missing file', null, /no such results file/],
    ['invalid JSON', '{"schemaVersion": 1, ', /not valid JSON .*interrupted/],
    ['a list', [], /the document must be a JSON object, got an array/],
    ['another schema version', { schemaVersion: 2 }, /schemaVersion is 2, this suite reads version 1/],
    ['no environment', { schemaVersion: 1, results: [] }, /environment must be an object, got nothing \(missing\)/],
  ])('rejects %s with the path', (_, content, message) => {
    const file = content === null ? path.join(tmp, 'absent.json') : writeJson(content)
    expect(() => readResultsFile(file)).toThrow(ResultsFileError)
    expect(() => readResultsFile(file)).toThrow(file)
    expect(() => readResultsFile(file)).toThrow(message)
  })

  test('names the broken field of an entry', () => {
    const broken = JSON.parse(JSON.stringify(doc()))
    delete broken.results[1].p95
    expect(() => readResultsFile(writeJson(broken))).toThrow(/: results\[1\]\.p95 must be a number, got nothing \(missing\)$/)
    broken.results[1].p95 = 1
    broken.results[0].budgets[0].passed = 'yes'
    expect(() => readResultsFile(writeJson(broken))).toThrow(/results\[0\]\.budgets\[0\]\.passed must be true or false, got "yes"/)
    broken.results[0].budgets[0].passed = true
    broken.environment.commit = 7
    expect(() => readResultsFile(writeJson(broken))).toThrow(/environment\.commit must be a string, got 7/)
  })
})

describe('collectEnvironment', () => {
  test('fingerprints the machine, Node and the commit, plus what the setup knows', () => {
    const repo = path.resolve(import.meta.dirname, '..')
    const env = collectEnvironment(
      { profile: 'smoke', pgmq: { kind: 'extension', version: '1.7.0' }, traces: 'off' },
      { root: repo, now: new Date('2025-01-01T00:00:00Z') },
    )
    expect(env).toMatchObject({
      node: process.version,
      platform: process.platform,
      arch: process.arch,
      cpuCount: os.availableParallelism(),
      profile: 'smoke',
      timestamp: '2025-01-01T00:00:00.000Z',
      pgmq: { kind: 'extension', version: '1.7.0' },
      traces: 'off',
    })
    expect(env.cpuModel).not.toBe('')
    expect(env.memoryGiB).toBeGreaterThan(0)
    expect(env.commit).toMatch(/^[0-9a-f]{40}(-dirty)?$/)
  })

  test('commit is "unknown" outside a git checkout', () => {
    const dir = freshDir()
    expect(existsSync(path.join(dir, '.git'))).toBe(false)
    expect(gitCommit(dir)).toBe('unknown')
  })
})

// The reporter reads the shipped budget file when run from the repository root: keep it parseable.
test('fixtures/budgets.yaml is readable YAML', () => {
  expect(readFileSync(path.resolve(import.meta.dirname, '..', 'fixtures', 'budgets.yaml'), 'utf8')).toMatch(/^event-propagation:/m)
})

describe('retained samples (for significance tests against a baseline)', () => {
  test('the bench hooks keep each bench\'s samples in meta, sorted and capped', () => {
    const many = Array.from({ length: 12_000 }, (_, i) => ((i * 7919) % 12_000) / 1000) // 0..11.999 ms, shuffled
    const task = {
      meta: {} as TaskMeta,
      benchmarks: [{ name: 't', tasks: [{ name: 'big', latency: { samples: many, samplesCount: many.length } }, { name: 'small', latency: { samples: [3, 1, 2], samplesCount: 3 } }] }] as unknown as TestBenchmark[],
      file: { name: 'benchmarks/x.bench.ts' },
    }
    checkTestResults(task, () => new BudgetBook(new Map()))
    const [big, small] = task.meta.tasker!.measurements
    expect(big!.summary.n).toBe(12_000)
    expect(big!.samples).toHaveLength(MAX_RETAINED_SAMPLES)
    expect([big!.samples![0], big!.samples!.at(-1)]).toEqual([0, 11.999])
    expect(small!.samples).toEqual([1, 2, 3])
  })

  test('the results file carries them per entry, and the reader checks them', () => {
    const doc = buildResultsDocument(environment, [{ module: 'benchmarks/x.bench.ts', test: 't', state: 'passed', meta: measuredMeta() }])
    expect(doc.results[0]!.samples).toBeUndefined() // a measurement without samples stays valid (older meta)
    expect(doc.results[1]!.samples).toEqual([1, 2, 3])
    expect(validateResultsDocument(JSON.parse(JSON.stringify(doc)), 'doc')).toEqual(doc)
    const broken = (samples: unknown) => {
      const copy = JSON.parse(JSON.stringify(doc))
      copy.results[1].samples = samples
      return () => validateResultsDocument(copy, 'r.json')
    }
    expect(broken([2, 1, 3])).toThrow(/^r\.json: results\[1\]\.samples\[1\] must be sorted ascending \(≥ 2\), got 1$/)
    expect(broken([1, 2, 3, 4])).toThrow(/results\[1\]\.samples must be at most n = 3 numbers, got "4 numbers"/)
    expect(broken([1, 'x'])).toThrow(/results\[1\]\.samples\[1\] must be a number, got "x"/)
    expect(broken([])).toThrow(/results\[1\]\.samples must be a non-empty array of numbers/)
  })
})
