import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { TaskMeta, TestBenchmark } from 'vitest'
import { afterAll, describe, expect, test } from 'vitest'
import { checkTestResults, type FinishedTest } from '../harness/results/budgets/check-test.ts'
import { evaluateBudgets, formatViolation, checkBudgets } from '../harness/results/budgets/evaluate.ts'
import {
  BudgetBook,
  budgetOverlays,
  loadBudgets,
  parseBudgetFile,
  parseBudgetOverrides,
  REFERENCE_BUDGETS,
  scaleBudget,
  type BudgetSettings,
} from '../harness/results/budgets/load.ts'
import { parseBudgetExpression } from '../harness/results/budgets/parse.ts'
import { ConfigError } from '../harness/config/settings.ts'
import { recordSamples } from '../harness/bench/record.ts'
import { summarize } from '../harness/results/percentiles.ts'

const root = mkdtempSync(path.join(os.tmpdir(), 'tasker-bench-budgets-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

let fileCount = 0
/** Settings pointing at a budget file with `content`, written to a fresh temp file. */
function settingsFor(content: string, overrides: Partial<BudgetSettings> = {}): BudgetSettings {
  const name = `budgets-${++fileCount}.yaml`
  writeFileSync(path.join(root, name), content)
  return { root, BENCH_BUDGETS_FILE: name, BENCH_BUDGETS: undefined, BENCH_BUDGET_SCALE: undefined, BENCH_PROFILE: 'full', ...overrides }
}

const SEED = `
event-propagation:
  '*':
    - p(95)<10
    - p(99)<20
  large payload:
    - p(95)<15
e2e-latency:
  linear: [p(99)<500, count>=100, min>4]
`

describe('parseBudgetExpression', () => {
  test.each([
    ['p(95)<10', { metric: 'p(95)', field: 'p95', operator: '<', limit: 10, unit: 'ms' }],
    ['p(99)<20', { metric: 'p(99)', field: 'p99', operator: '<', limit: 20 }],
    ['p(99.9) <= 30ms', { metric: 'p(99.9)', field: 'p999', operator: '<=', limit: 30 }],
    ['p(50)<=2', { metric: 'p(50)', field: 'p50', operator: '<=', limit: 2 }],
    ['p( 90 )<7.5', { metric: 'p(90)', field: 'p90', limit: 7.5 }],
    ['avg<5', { metric: 'avg', field: 'mean', operator: '<', limit: 5 }],
    ['max<100', { metric: 'max', field: 'max', limit: 100 }],
    ['min>0', { metric: 'min', field: 'min', operator: '>', limit: 0 }],
    ['med<=2', { metric: 'med', field: 'p50', operator: '<=', limit: 2 }],
    ['count>=1000', { metric: 'count', field: 'n', operator: '>=', limit: 1000, unit: 'samples' }],
    ['count==10', { metric: 'count', operator: '==', limit: 10 }],
    ['  avg < 0.5ms ', { text: 'avg < 0.5ms', limit: 0.5 }],
  ])('accepts %s', (expr, expected) => {
    expect(parseBudgetExpression(expr, 'test')).toMatchObject({ scale: 1, where: 'test', ...expected })
  })

  test.each(['p95<10', 'p(95)', '<10', 'p(95)<', 'avg<5s', 'p(95)=<10', 'p(95)<-1', 'mean<5', 'p(95)!=3', 'p(95)<10 ms ms', ''])(
    'rejects %j with the expected-format message',
    (expr) => {
      expect(() => parseBudgetExpression(expr, 'somewhere')).toThrow(
        `budget somewhere: cannot parse "${expr.trim()}" (expected e.g. p(95)<10, avg<5, max<100, count>=1000, statements/task<40, or target p(50)<20)`,
      )
    },
  )

  test('a percentile the summary does not compute names the ones it does', () => {
    expect(() => parseBudgetExpression('p(97)<10', 'x')).toThrow('p(97) is not computed; use one of p(50), p(75), p(90), p(95), p(99), p(99.9)')
  })

  test('count is not in milliseconds', () => {
    expect(() => parseBudgetExpression('count>=10ms', 'x')).toThrow(/count is a number of samples/)
  })
})

describe('loadBudgets', () => {
  test('the file: exact names plus "*"; an exact budget replaces the "*" budget on the same metric', () => {
    const book = loadBudgets(settingsFor(SEED))
    expect(book.scale).toBe(1)
    expect(book.for('event-propagation', 'small payload').map((b) => b.text)).toEqual(['p(95)<10', 'p(99)<20'])
    expect(book.for('event-propagation', 'large payload').map((b) => b.text)).toEqual(['p(99)<20', 'p(95)<15'])
    expect(book.for('e2e-latency', 'linear').map((b) => b.text)).toEqual(['p(99)<500', 'count>=100', 'min>4'])
    expect(book.for('e2e-latency', 'diamond')).toEqual([])
    expect(book.for('never-ran', 'x')).toEqual([])
    expect(book.benchNames('event-propagation')).toEqual(['large payload'])
    expect(book.for('event-propagation', 'small payload')[0]!.where).toBe(`budgets-${fileCount}.yaml: event-propagation > *`)
  })

  test("a target under a bench's own name never removes a '*' budget on the same metric", () => {
    const book = loadBudgets(settingsFor(SEED + 'other:\n  "*": [p(99)<20, target p(50)<5]\n  x: [target p(99)<10, target p(50)<2]\n'))
    expect(book.for('other', 'x').map((b) => b.text)).toEqual(['p(99)<20', 'target p(99)<10', 'target p(50)<2'])
    expect(book.for('other', 'y').map((b) => b.text)).toEqual(['p(99)<20', 'target p(50)<5'])
  })

  test('scale: upper limits multiplied, lower limits divided, count and == untouched', () => {
    const book = loadBudgets(settingsFor(SEED + '  eq: [max==3]\n', { BENCH_BUDGET_SCALE: 4 }))
    const linear = book.for('e2e-latency', 'linear')
    expect(linear.map((b) => [b.text, b.limit, b.writtenLimit])).toEqual([
      ['p(99)<500', 2000, 500],
      ['count>=100', 100, 100],
      ['min>4', 1, 4],
    ])
    expect(book.for('e2e-latency', 'eq')[0]).toMatchObject({ limit: 3, scale: 1 })
    expect(scaleBudget(parseBudgetExpression('avg<=2', 'x'), 3)).toMatchObject({ limit: 6, writtenLimit: 2, scale: 3 })
  })

  test('the smoke profile scales by 10 unless BENCH_BUDGET_SCALE says otherwise', () => {
    expect(loadBudgets(settingsFor(SEED, { BENCH_PROFILE: 'smoke' })).for('event-propagation', 'x')[0]!.limit).toBe(100)
    expect(loadBudgets(settingsFor(SEED, { BENCH_PROFILE: 'smoke', BENCH_BUDGET_SCALE: 1 })).for('event-propagation', 'x')[0]!.limit).toBe(10)
  })

  test('BENCH_BUDGETS overrides replace a key, add new files, and an empty list removes budgets', () => {
    const book = loadBudgets(
      settingsFor(SEED, {
        BENCH_BUDGETS: 'event-propagation/*=p(95)<5 ; event-propagation/large payload= ; sql/get_next_ready_tasks=p(95)<3ms,avg<=2;',
      }),
    )
    expect(book.for('event-propagation', 'small payload').map((b) => b.text)).toEqual(['p(95)<5'])
    expect(book.for('event-propagation', 'large payload').map((b) => b.text)).toEqual(['p(95)<5'])
    expect(book.for('sql', 'get_next_ready_tasks').map((b) => [b.text, b.where])).toEqual([
      ['p(95)<3ms', 'BENCH_BUDGETS sql > get_next_ready_tasks'],
      ['avg<=2', 'BENCH_BUDGETS sql > get_next_ready_tasks'],
    ])
    expect(book.for('e2e-latency', 'linear')).toHaveLength(3)
  })

  test('overrides are scaled like the file', () => {
    const book = loadBudgets(settingsFor(SEED, { BENCH_BUDGETS: 'e2e-latency/linear=p(99)<100', BENCH_BUDGET_SCALE: 2 }))
    expect(book.for('e2e-latency', 'linear')[0]).toMatchObject({ limit: 200, writtenLimit: 100 })
  })

  test('a bench name may contain slashes: only the first one separates the file', () => {
    expect(parseBudgetOverrides('api/POST /v1/tasks=p(95)<20')).toMatchObject([{ file: 'api', bench: 'POST /v1/tasks' }])
  })

  test.each([
    ['p(95)<5', /BENCH_BUDGETS: "p\(95\)<5" is not <file>\/<bench name>=<expr>/],
    ['small payload=p(95)<5', /BENCH_BUDGETS: "small payload=p\(95\)<5" is not <file>\/<bench name>=/],
    ['event-propagation/=p(95)<5', /is not <file>\/<bench name>=/],
    ['event-propagation/*=p95<5', /^budget BENCH_BUDGETS event-propagation > \*: cannot parse "p95<5"/],
  ])('a malformed override %j is a ConfigError', (raw, message) => {
    const attempt = () => loadBudgets(settingsFor(SEED, { BENCH_BUDGETS: raw }))
    expect(attempt).toThrow(ConfigError)
    expect(attempt).toThrow(message)
  })

  test.each([
    ['event-propagation:\n  b: [p(95)<10\n', /^budgets-\d+\.yaml: invalid YAML: Flow sequence/],
    ["event-propagation:\n  *:\n    - p(95)<10\n", /invalid YAML: .*write the every-bench key quoted, '\*':/],
    ['a:\n  b: [avg<1]\n  b: [avg<2]\n', /invalid YAML: Map keys must be unique at line 3/],
    ['- p(95)<10\n', /expected a mapping of bench files to benches .*got a list/],
    ['event-propagation.bench.ts/x: {}\n', /"event-propagation.bench.ts\/x" is not a bench file name/],
    ['event-propagation: [p(95)<10]\n', /event-propagation: expected a mapping of bench names \(or '\*'\) to lists of budgets, got a list/],
    ['event-propagation:\n  small payload: p(95)<10\n', /budget budgets-\d+\.yaml: event-propagation > small payload: expected a list of expressions .*got the text "p\(95\)<10"/],
    ['event-propagation:\n  small payload: [10]\n', /event-propagation > small payload: 10 is not an expression/],
    ['event-propagation:\n  small payload:\n    - p(95)<10\n    - p95<20\n', /^budget budgets-\d+\.yaml: event-propagation > small payload: cannot parse "p95<20"/],
  ])('a malformed file is a ConfigError naming the file, the key and the expression (%#)', (content, message) => {
    const attempt = () => loadBudgets(settingsFor(content))
    expect(attempt).toThrow(ConfigError)
    expect(attempt).toThrow(message)
  })

  test('an empty file means no budgets; a missing file is an error naming the variable', () => {
    expect(loadBudgets(settingsFor('# nothing yet\n')).fileStems()).toEqual([])
    expect(() => loadBudgets({ ...settingsFor(''), BENCH_BUDGETS_FILE: 'nope.yaml' })).toThrow(/^BENCH_BUDGETS_FILE=nope.yaml: no such file/)
  })

  test('the shipped fixtures/budgets.yaml holds the seed targets', () => {
    const book = loadBudgets({ root: path.resolve(import.meta.dirname, '..'), BENCH_BUDGETS_FILE: 'fixtures/budgets.yaml', BENCH_BUDGETS: undefined, BENCH_BUDGET_SCALE: undefined, BENCH_PROFILE: 'full' })
    expect(book.for('event-propagation', 'any bench').map((b) => b.text)).toEqual(['p(95)<10', 'p(99)<20'])
    expect(book.for('task-initialization', 'create linear task').map((b) => b.text)).toEqual(['avg<50'])
    expect(book.for('task-initialization', 'create diamond task').map((b) => b.text)).toEqual(['avg<75'])
    expect(book.for('e2e-latency', 'e2e linear').map((b) => b.text)).toEqual(['p(99)<500'])
    expect(book.for('e2e-latency', 'e2e diamond').map((b) => b.text)).toEqual(['p(99)<800'])
    // postgres-startup takes 10 samples (2 in smoke): a p(95) of those is the max, so say max
    expect(book.for('postgres-startup', 'start until accepting connections').map((b) => [b.metric, b.field])).toEqual([['max', 'max']])
  })

  test('the reference orchestrator overlay tightens its own targets and leaves the rest', () => {
    const settings = { root: path.resolve(import.meta.dirname, '..'), BENCH_BUDGETS_FILE: 'fixtures/budgets.yaml', BENCH_BUDGETS: undefined, BENCH_BUDGET_SCALE: undefined, BENCH_PROFILE: 'full' as const }
    const book = loadBudgets(settings, { overlays: budgetOverlays('embedded') })
    expect(book.for('e2e-latency', 'e2e linear').map((b) => b.text)).toEqual(['p(99)<500', 'target p(50)<20', 'target p(99)<50', 'statements/task<170', 'round_trips/task<20', 'wal_bytes/task<34000'])
    expect(book.for('e2e-latency', 'e2e tree').map((b) => b.text)).toEqual(['p(99)<1000', 'target p(99)<100', 'statements/task<400', 'round_trips/task<38', 'wal_bytes/task<82000'])
    // time is guarded by the E2E ÷ floor ratio, which the machine's load cancels
    expect(book.for('baselines', 'efficiency mixed_dag e2e/floor').map((b) => b.text)).toEqual(['p(50)<5'])
    expect(book.for('task-initialization', 'create linear task').map((b) => b.text)).toEqual(['avg<50', 'target p(99)<10'])
    expect(book.for('task-initialization', 'create diamond task').map((b) => b.text)).toEqual(['avg<75'])
    expect(book.for('load', 'load linear @200/s').map((b) => [b.text, b.target])).toEqual([['target p(99)<100', true]])
    expect(book.for('e2e-latency', 'e2e linear x10 concurrent').map((b) => b.text)).toEqual([])
    expect(book.for('event-propagation', 'any bench').map((b) => b.text)).toEqual(['p(95)<10', 'p(99)<20'])
    expect(budgetOverlays('external')).toEqual([])
    // environment overrides still win over the overlay
    const overridden = loadBudgets({ ...settings, BENCH_BUDGETS: 'e2e-latency/e2e linear=p(99)<70' }, { overlays: budgetOverlays('embedded') })
    expect(overridden.for('e2e-latency', 'e2e linear').map((b) => b.text)).toEqual(['p(99)<70'])
  })
})

describe('budget overlays may only tighten', () => {
  const REPO = path.resolve(import.meta.dirname, '..')
  const BASE = 'event-propagation:\n  "*": [p(95)<10, p(99)<20]\n  big: [p(95)<15]\ntask-initialization:\n  create linear task: [p(99)<50, count>=10]\n'
  /** Loads BASE with `overlay` laid over it (both written to the temp root). */
  const withOverlay = (overlay: string) => {
    const settings = settingsFor(BASE)
    const name = `overlay-${++fileCount}.yaml`
    writeFileSync(path.join(root, name), overlay)
    return { load: () => loadBudgets(settings, { overlays: [name] }), name }
  }

  test('a looser limit is a ConfigError naming the overlay, the bench, the metric and both limits', () => {
    const { load, name } = withOverlay('task-initialization:\n  create linear task: [p(99)<75, count>=10, target p(99)<10]\n')
    expect(load).toThrow(ConfigError)
    expect(load).toThrow(
      `${name}: task-initialization > create linear task: p(99)<75 is looser than p(99)<50 (budgets-${fileCount - 1}.yaml: task-initialization > create linear task); an overlay may only tighten budgets: use p(99) < 50 or stricter`,
    )
  })

  test.each([
    ['a list that leaves a budget out (a target is no budget)', 'task-initialization:\n  create linear task: [count>=10, target p(99)<10]\n', /create linear task: drops the budget p\(99\)<50 /],
    ['a looser lower bound', 'task-initialization:\n  create linear task: [p(99)<50, count>=5]\n', /create linear task: count>=5 is looser than count>=10 /],
    ["a looser '*'", 'event-propagation:\n  "*": [p(95)<10, p(99)<30]\n', /event-propagation > \*: p\(99\)<30 is looser than p\(99\)<20 /],
    ["an exact name looser than the '*' it replaces", 'event-propagation:\n  small: [p(95)<12]\n', /event-propagation > small: p\(95\)<12 is looser than p\(95\)<10 .*event-propagation > \*\)/],
    ['< 50 → <= 50', 'task-initialization:\n  create linear task: [p(99)<=50, count>=10]\n', /p\(99\)<=50 is looser than p\(99\)<50/],
  ])('%s is refused', (_, overlay, message) => {
    const { load } = withOverlay(overlay)
    expect(load).toThrow(ConfigError)
    expect(load).toThrow(message)
  })

  test('equal or stricter limits, new benches and targets are accepted', () => {
    const { load } = withOverlay(
      'event-propagation:\n  "*": [p(95)<8, p(99)<20]\n  big: [p(95)<=14, target p(95)<1]\n  new one: [p(95)<9, max<50]\n' +
        'task-initialization:\n  create linear task: [p(99)<50, count>=20, target p(99)<10]\n',
    )
    const book = load()
    expect(book.for('event-propagation', 'big').map((b) => b.text)).toEqual(['p(99)<20', 'p(95)<=14', 'target p(95)<1'])
    expect(book.for('task-initialization', 'create linear task').map((b) => b.text)).toEqual(['p(99)<50', 'count>=20', 'target p(99)<10'])
  })

  test('every key of the shipped reference overlay keeps or tightens every budget of fixtures/budgets.yaml', () => {
    const base = new BudgetBook(parseBudgetFile(readFileSync(path.join(REPO, 'fixtures/budgets.yaml'), 'utf8'), 'budgets.yaml'))
    const overlay = parseBudgetFile(readFileSync(path.join(REPO, REFERENCE_BUDGETS), 'utf8'), 'budgets.reference.yaml')
    const merged = loadBudgets({ root: REPO, BENCH_BUDGETS_FILE: 'fixtures/budgets.yaml', BENCH_BUDGETS: undefined, BENCH_BUDGET_SCALE: undefined, BENCH_PROFILE: 'full' }, { overlays: [REFERENCE_BUDGETS] })
    let checked = 0
    for (const [stem, benches] of overlay) {
      for (const bench of benches.keys()) {
        const after = merged.for(stem, bench).filter((b) => !b.target)
        for (const was of base.for(stem, bench).filter((b) => !b.target)) {
          expect(was.operator, `${stem} > ${bench}: ${was.text}`).toMatch(/^<=?$/) // every shipped budget is an upper bound
          const kept = after.filter((b) => b.metric === was.metric && /^<=?$/.test(b.operator))
          expect(kept.length, `${stem} > ${bench}: the overlay drops ${was.text}`).toBeGreaterThan(0)
          for (const b of kept) expect(b.writtenLimit, `${stem} > ${bench}: ${b.text} loosens ${was.text}`).toBeLessThanOrEqual(was.writtenLimit)
          checked++
        }
      }
    }
    // the overlay's keys that the portable file budgets: task creation (linear, diamond), e2e linear and diamond
    expect(checked).toBeGreaterThanOrEqual(4)
  })
})

describe('evaluateBudgets', () => {
  const parse = (...exprs: string[]) => exprs.map((e) => parseBudgetExpression(e, 'test'))
  const oneToHundred = summarize(Array.from({ length: 100 }, (_, i) => i + 1)) // p95 95.05, p99 99.01

  test('returns one violation per failed budget, none for those that hold', () => {
    const violations = evaluateBudgets(oneToHundred, parse('p(95)<10', 'p(99)<100', 'avg<=50.5', 'max<100', 'min>0', 'count>=1000', 'med==50.5'))
    expect(violations).toEqual([
      expect.objectContaining({ expression: 'p(95)<10', metric: 'p(95)', observed: oneToHundred.p95, limit: 10, operator: '<' }),
      expect.objectContaining({ expression: 'max<100', metric: 'max', observed: 100, limit: 100, operator: '<' }),
      expect.objectContaining({ expression: 'count>=1000', metric: 'count', observed: 100, limit: 1000, operator: '>=', unit: 'samples' }),
    ])
  })

  test('checkBudgets records every check, passed or not', () => {
    expect(checkBudgets(oneToHundred, parse('p(95)<10', 'p(99)<100'))).toEqual([
      { expression: 'p(95)<10', operator: '<', limit: 10, observed: oneToHundred.p95, passed: false },
      { expression: 'p(99)<100', operator: '<', limit: 100, observed: oneToHundred.p99, passed: true },
    ])
  })

  test('formatViolation', () => {
    const summary = { ...oneToHundred, p95: 12.4 }
    const [v] = evaluateBudgets(summary, parse('p(95)<10'))
    expect(formatViolation({ file: 'event-propagation', bench: 'small payload' }, v!)).toBe(
      'budget violated: event-propagation > small payload: p(95) = 12.40 ms, limit < 10 ms',
    )
    const [count] = evaluateBudgets(summary, parse('count>=1000'))
    expect(formatViolation({ file: 'f', bench: 'b' }, count!)).toBe('budget violated: f > b: count = 100, limit >= 1000')
    const [scaled] = evaluateBudgets(summary, [scaleBudget(parseBudgetExpression('p(95)<1', 'x'), 10)])
    expect(formatViolation({ file: 'f', bench: 'b' }, scaled!)).toBe('budget violated: f > b: p(95) = 12.40 ms, limit < 10 ms (written 1 ms, budget scale 10)')
  })

  test('a target is checked and recorded like a budget, never violated, never scaled', () => {
    const [target] = parse('target p(50)<20')
    expect(target).toMatchObject({ text: 'target p(50)<20', metric: 'p(50)', field: 'p50', limit: 20, target: true })
    expect(parse('p(50)<20')[0]!.target).toBe(false)
    expect(scaleBudget(target!, 10).limit).toBe(20)
    expect(evaluateBudgets(oneToHundred, [target!])).toEqual([])
    expect(checkBudgets(oneToHundred, [target!])).toEqual([{ expression: 'target p(50)<20', operator: '<', limit: 20, observed: oneToHundred.p50, passed: false, target: true }])
    expect(() => parse('target')).toThrow(/cannot parse "target"/)
    expect(() => parse('target p(50) 20')).toThrow(/or target p\(50\)<20/)
  })

  test('a p99 violation with fewer than 100 samples says p99 is not meaningful', () => {
    const [v] = evaluateBudgets(summarize([1, 2, 30]), parse('p(99)<5'))
    expect(formatViolation({ file: 'f', bench: 'b' }, v!)).toMatch(/limit < 5 ms \[only 3 samples: p\(99\) is not meaningful below 100\]$/)
  })
})

describe('checkTestResults with targets', () => {
  const parse = (...exprs: string[]) => exprs.map((e) => parseBudgetExpression(e, 'test'))
  test('a missed target is named in the line and fails nothing', () => {
    const book = new BudgetBook(new Map([['e2e-latency', new Map([['e2e linear', parse('p(99)<500', 'target p(50)<20', 'target p(99)<200')]])]]))
    const samples = Array.from({ length: 100 }, (_, i) => 20 + i)
    const task = {
      meta: {} as TaskMeta,
      benchmarks: [{ name: 'e2e', tasks: [{ name: 'e2e linear', latency: { samples, samplesCount: 100 }, throughput: {}, period: 0, totalTime: 0, rank: 1 }] }] as unknown as TestBenchmark[],
      file: { name: 'benchmarks/e2e-latency.bench.ts' },
    }
    const result = checkTestResults(task, () => book)
    expect(result.violations).toEqual([])
    expect(result.lines[0]).toMatch(/ · budgets 1\/1 ok · targets 1\/2 met, missed: p\(50\)<20 \(69\.5\)$/)
  })
})

describe('checkTestResults (what the bench hooks run after each test)', () => {
  const book = new BudgetBook(
    new Map([['event-propagation', new Map([['*', [parseBudgetExpression('p(95)<10', 'test: event-propagation > *')]]])]]),
  )
  const benchTask = (name: string, samples: number[] | undefined, samplesCount = samples?.length ?? 0) =>
    ({ name, latency: { samples, samplesCount }, throughput: {}, period: 0, totalTime: 0, rank: 1 }) as unknown as TestBenchmark['tasks'][number]
  const finished = (benchmarks: TestBenchmark[]): FinishedTest & { meta: TaskMeta } => ({
    meta: {},
    benchmarks,
    file: { name: 'benchmarks/event-propagation.bench.ts' },
  })

  test('summarises bench samples into meta, checks budgets, and reports violations', () => {
    const fast = Array.from({ length: 100 }, (_, i) => 1 + i / 100)
    const slow = Array.from({ length: 20 }, (_, i) => 10 + i)
    const task = finished([{ name: 'notify', tasks: [benchTask('small payload', fast), benchTask('large payload', slow)] }])
    const result = checkTestResults(task, () => book)

    expect(task.meta.tasker!.measurements.map((m) => [m.name, m.source, m.summary.n])).toEqual([
      ['small payload', 'bench', 100],
      ['large payload', 'bench', 20],
    ])
    expect(task.meta.tasker!.measurements[1]!.budgets).toEqual([expect.objectContaining({ expression: 'p(95)<10', passed: false })])
    expect(result.violations).toEqual([expect.stringMatching(/^budget violated: event-propagation > large payload: p\(95\) = 28\.05 ms, limit < 10 ms$/)])
    expect(result.lines[0]).toMatch(/^\[bench\] event-propagation > small payload: n=100 p50=1\.50 p95=1\.94 p99=1\.98 max=1\.99 ms · budgets 1\/1 ok$/)
    expect(result.lines[1]).toMatch(/n=20 .*\(n < 100: p99 not meaningful\) · budgets 0\/1 ok$/)
  })

  test('recordSamples() entries are checked too, and a rerun replaces the bench entries', () => {
    const task = finished([{ name: 't', tasks: [benchTask('small payload', [1, 2, 3])] }])
    recordSamples(task, 'step claim', [20, 30, 40], { phase: 'claim' })
    checkTestResults(task, () => book)
    const result = checkTestResults(task, () => book)
    expect(task.meta.tasker!.measurements.map((m) => [m.name, m.source])).toEqual([
      ['small payload', 'bench'],
      ['step claim', 'samples'],
    ])
    expect(result.violations).toEqual([expect.stringContaining('event-propagation > step claim: p(95) = 39.00 ms')])
  })

  test('a test that measured nothing never loads the budgets and leaves meta alone', () => {
    const task = finished([])
    const result = checkTestResults(task, () => {
      throw new Error('budgets must not be loaded')
    })
    expect(result).toEqual({ lines: [], violations: [] })
    expect(task.meta.tasker).toBeUndefined()
  })

  test('bench.from() baselines are skipped; missing retained samples is an error that says how to fix it', () => {
    const stored = { ...benchTask('baseline', undefined, 50), fromStore: true }
    expect(checkTestResults(finished([{ name: 't', tasks: [stored] }]), () => book).lines).toEqual([])
    expect(() => checkTestResults(finished([{ name: 't', tasks: [benchTask('x', undefined, 50)] }]), () => book)).toThrow(
      /bench "x" has no retained samples.*retainSamples: true/,
    )
  })
})

