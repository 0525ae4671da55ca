/**
 * Work per task, the arithmetic: snapshot differences (never a reset), the timer-driven background
 * subtracted per query id, the counters (round trips, nested statements, top-level-only blocks and
 * WAL, pgmq messages, NOTIFYs), the statement table; and work budgets (`statements/task<40`):
 * parsed, never scaled, checked against the measurement's work, skipped without it.
 */
import { describe, expect, test } from 'vitest'
import type { TaskMeta, TestBenchmark } from 'vitest'
import {
  diffSnapshots,
  divideCounters,
  normaliseQuery,
  statementTable,
  subtractBackground,
  workTotals,
  type StatementStat,
  type StatSnapshot,
} from '../harness/bench/work/statement-delta.ts'
import { parseBudgetExpression, BudgetSyntaxError } from '../harness/results/budgets/parse.ts'
import { checkBudgets, evaluateBudgets, formatViolation } from '../harness/results/budgets/evaluate.ts'
import { BudgetBook, scaleBudget } from '../harness/results/budgets/load.ts'
import { checkTestResults } from '../harness/results/budgets/check-test.ts'
import { summarize } from '../harness/results/percentiles.ts'
import { recordSamples } from '../harness/bench/record.ts'
import { recordWork } from '../harness/bench/work/bench-work.ts'
import { buildResultsDocument } from '../harness/results/document.ts'
import type { WorkMeasurement } from '../harness/results/work.ts'
import { workLine } from '../harness/results/work-line.ts'

const zero = { rows: 0, sharedBlksHit: 0, sharedBlksRead: 0, sharedBlksDirtied: 0, sharedBlksWritten: 0, tempBlks: 0, walRecords: 0, walBytes: 0, execMs: 0 }
const stat = (queryId: string, query: string, toplevel: boolean, calls: number, more: Partial<StatementStat> = {}): StatementStat => ({
  datname: 'tasker',
  queryId,
  toplevel,
  query,
  calls,
  ...zero,
  ...more,
})
const snap = (at: number, statements: StatementStat[], commits = 0): StatSnapshot => ({
  at,
  statements,
  databases: [{ datname: 'tasker', commits, rollbacks: 0, tupInserted: 0, tupUpdated: 0, tupDeleted: 0 }],
})

describe('snapshot differences', () => {
  test('count what moved per query id and top-level flag; a new query id counts whole; the suite’s own probes are left out', () => {
    const before = snap(0, [stat('1', 'SELECT tasker.create_task($1)', true, 10, { sharedBlksHit: 100 }), stat('2', 'INSERT INTO tasker.tasks VALUES ($1)', false, 10, { rows: 10 })], 50)
    const after = snap(
      1000,
      [
        stat('1', 'SELECT tasker.create_task($1)', true, 15, { sharedBlksHit: 160 }),
        stat('2', 'INSERT INTO tasker.tasks VALUES ($1)', false, 15, { rows: 15 }),
        stat('3', 'SELECT 1', true, 2),
        stat('4', 'SELECT * FROM pg_stat_statements s JOIN pg_database d ON true', true, 9),
        stat('5', 'SELECT coalesce(sum(queue_length), 0) FROM pgmq.metrics_all()', true, 4),
      ],
      57,
    )
    const d = diffSnapshots(before, after)
    expect(d.ms).toBe(1000)
    expect(d.statements.map((s) => [s.queryId, s.calls, s.rows, s.sharedBlksHit])).toEqual([
      ['1', 5, 0, 60],
      ['2', 5, 5, 0],
      ['3', 2, 0, 0],
    ])
    expect(d.databases[0]!.commits).toBe(7)
  })

  test('an entry whose calls went down was evicted and re-created: its figures since then count whole', () => {
    const d = diffSnapshots(snap(0, [stat('1', 'SELECT 1', true, 100)]), snap(10, [stat('1', 'SELECT 1', true, 3)]))
    expect(d.statements[0]!.calls).toBe(3)
  })
})

describe('background', () => {
  test('a timer-driven statement’s idle rate × the window is its background share, never more than all of it; a per-task statement is kept', () => {
    const idle = diffSnapshots(snap(0, [stat('poll', 'SELECT * FROM pgmq.read($1)', true, 0)]), snap(2000, [stat('poll', 'SELECT * FROM pgmq.read($1)', true, 4, { sharedBlksHit: 8 })], 4))
    const window = diffSnapshots(
      snap(0, [], 0),
      snap(5000, [stat('poll', 'SELECT * FROM pgmq.read($1)', true, 30, { sharedBlksHit: 60 }), stat('recover', 'SELECT tasker.recover()', true, 1), stat('x', 'SELECT 2', true, 40)], 80),
    )
    const idleWithRecovery = { ...idle, statements: [...idle.statements, stat('recover', 'SELECT tasker.recover()', true, 3)] }
    const net = subtractBackground(window, idleWithRecovery)
    // poll: 4 calls in 2 s → 10 in 5 s; 30 − 10 = 20 stay (the event-driven reads of the same text)
    const poll = net.statements.find((s) => s.queryId === 'poll')!
    expect(poll.calls).toBeCloseTo(20, 9)
    expect(poll.sharedBlksHit).toBeCloseTo(40, 9)
    // recovery: 3 in 2 s → 7.5 in 5 s > 1: gone, not negative
    expect(net.statements.find((s) => s.queryId === 'recover')).toBeUndefined()
    expect(net.statements.find((s) => s.queryId === 'x')!.calls).toBe(40)
    expect(net.databases[0]!.commits).toBe(70)
    expect(subtractBackground(window, undefined)).toBe(window)
  })

  test('a slow timer seen once in the idle window is removed whole however long or short the window, a statement far above its timer rate keeps the excess', () => {
    // a sweep every 15 s of 5 namespaces (5 calls), seen once in a 16 s idle window: 5 in a 3 s
    // window, 15 in a 46 s one, 30 in an 85 s one (a slower run)
    const idle = diffSnapshots(snap(0, []), snap(16_000, [stat('sweep', 'SELECT sweep()', true, 5, { sharedBlksHit: 900 }), stat('read', 'SELECT pgmq.read($1)', true, 16)]))
    for (const [ms, sweeps] of [[3_000, 5], [46_000, 15], [85_000, 30], [85_000, 35]] as const) {
      const window = diffSnapshots(snap(0, []), snap(ms, [stat('sweep', 'SELECT sweep()', true, sweeps, { sharedBlksHit: 1000 * sweeps }), stat('read', 'SELECT pgmq.read($1)', true, 400)]))
      const net = subtractBackground(window, idle)
      expect(net.statements.find((s) => s.queryId === 'sweep'), `${sweeps} sweeps in ${ms} ms`).toBeUndefined()
      // the fallback read: 1/s on its timer, the rest per task
      expect(net.statements.find((s) => s.queryId === 'read')!.calls).toBeCloseTo(400 - ms / 1000, 6)
    }
    // beyond what the timer could have made (2 × 14.375 + 5 = 33.75 in 46 s) the calls above the rate stay
    const many = diffSnapshots(snap(0, []), snap(46_000, [stat('sweep', 'SELECT sweep()', true, 60)]))
    expect(subtractBackground(many, idle).statements[0]!.calls).toBeCloseTo(60 - 14.375, 6)
  })

  test('a poll whose cost per call has grown since the idle window is removed at its current cost', () => {
    const idle = diffSnapshots(snap(0, []), snap(1000, [stat('sweep', 'SELECT tasker.sweep()', true, 1, { sharedBlksHit: 10 })]))
    const window = diffSnapshots(snap(0, []), snap(10_000, [stat('sweep', 'SELECT tasker.sweep()', true, 10, { sharedBlksHit: 500 })]))
    expect(subtractBackground(window, idle).statements).toEqual([])
  })
})

describe('counters', () => {
  const delta = {
    ms: 1000,
    databases: [{ datname: 'tasker', commits: 20, rollbacks: 1, tupInserted: 30, tupUpdated: 40, tupDeleted: 5 }],
    statements: [
      stat('1', 'SELECT tasker.pgmq_send_with_notify($1, $2)', true, 10, { rows: 10, sharedBlksHit: 90, sharedBlksRead: 10, walBytes: 5000, walRecords: 30 }),
      stat('2', 'INSERT INTO pgmq.q_worker_default (vt, message) VALUES ($1, $2) RETURNING msg_id', false, 10, { rows: 10, sharedBlksHit: 50, walBytes: 3000 }),
      stat('3', 'SELECT pg_notify($1, $2)', false, 10, { rows: 10 }),
      stat('4', 'WITH cte AS (SELECT msg_id FROM pgmq.q_worker_default WHERE vt <= clock_timestamp() LIMIT $1 FOR UPDATE SKIP LOCKED) UPDATE pgmq.q_worker_default m SET vt = clock_timestamp() + $2, read_ct = read_ct + $3 FROM cte WHERE m.msg_id = cte.msg_id RETURNING m.msg_id', false, 12, { rows: 10 }),
      stat('5', 'WITH archived AS (DELETE FROM pgmq.q_worker_default WHERE msg_id = ANY($1) RETURNING msg_id) INSERT INTO pgmq.a_worker_default (msg_id) SELECT msg_id FROM archived', false, 5, { rows: 10 }),
      stat('6', 'DELETE FROM pgmq.q_orchestration WHERE msg_id = $1 RETURNING msg_id', false, 3, { rows: 3 }),
      stat('7', 'SELECT * FROM pgmq.read($1, $2, $3)', true, 12, { rows: 10, sharedBlksHit: 40 }),
    ],
  }

  test('round trips are top-level calls; blocks and WAL come from top-level statements only (they include their nested ones)', () => {
    const c = workTotals(delta)
    expect(c).toMatchObject({ statements: 62, round_trips: 22, nested_statements: 40, rows: 63 })
    expect(c).toMatchObject({ shared_blks: 140, shared_blks_hit: 130, shared_blks_read: 10, wal_bytes: 5000, wal_records: 30 })
    expect(c).toMatchObject({ commits: 20, rollbacks: 1, tup_inserted: 30, tup_updated: 40, tup_deleted: 5 })
  })

  test('pgmq messages from the rows of pgmq’s statements on its tables; NOTIFYs from pg_notify calls', () => {
    expect(workTotals(delta)).toMatchObject({ pgmq_sent: 10, pgmq_read: 10, pgmq_archived: 10, pgmq_deleted: 3, notifies: 10 })
  })

  test('per task, 4 significant figures; the statement table most calls first', () => {
    expect(divideCounters({ statements: 62, wal_bytes: 5000 }, 3)).toEqual({ statements: 20.67, wal_bytes: 1667 })
    const table = statementTable(delta, 10) // equal calls: more blocks first
    expect(table.statements.map((s) => s.queryId)).toEqual(['7', '4', '1', '2', '3', '5', '6'])
    expect(table.statements[2]).toMatchObject({ calls: 1, rows: 1, sharedBlks: 10, walBytes: 500, toplevel: true, database: 'tasker' })
    expect(normaliseQuery('SELECT\n   1,\n\t2')).toBe('SELECT 1, 2')
    expect(normaliseQuery('x'.repeat(400))).toHaveLength(300)
  })
})

const work = (statements: number): WorkMeasurement => ({
  format: 1,
  tasks: 10,
  windowMs: 1000,
  databases: ['tasker'],
  perTask: { statements, round_trips: statements / 2, wal_bytes: 12_000, shared_blks: 300, cpu_ms: 5 },
  cpuMsPerTask: { 'node: worker': 3, 'postgres: tasker-worker': 2 },
  statements: [],
  background: { windowMs: 3000, perSecond: { statements: 2 }, statements: [] },
  otherActivity: 'none expected',
  source: 'test',
  pgmqCounted: '',
  notifiesCounted: '',
})

describe('work budgets', () => {
  test('`<counter>/task<limit>` parses, names its counter; an unknown counter is a clear error', () => {
    const b = parseBudgetExpression('statements/task<40', 'f')
    expect(b).toMatchObject({ metric: 'statements/task', work: 'statements', operator: '<', limit: 40, unit: 'per task' })
    expect(parseBudgetExpression('target wal_bytes/task<=100', 'f')).toMatchObject({ work: 'wal_bytes', target: true })
    expect(() => parseBudgetExpression('statement/task<40', 'f')).toThrow(BudgetSyntaxError)
    expect(() => parseBudgetExpression('statement/task<40', 'f')).toThrow(/statement is not a work counter; use one of statements, round_trips/)
  })

  test('never scaled: a count does not depend on the machine', () => {
    expect(scaleBudget(parseBudgetExpression('statements/task<40', 'f'), 10).limit).toBe(40)
  })

  test('checked against the measurement’s work, not its latency; skipped when there is no work', () => {
    const summary = summarize([1, 2, 3])
    const budgets = [parseBudgetExpression('statements/task<40', 'f'), parseBudgetExpression('p(50)<100', 'f')]
    expect(checkBudgets(summary, budgets, work(39)).map((c) => [c.expression, c.observed, c.passed])).toEqual([
      ['statements/task<40', 39, true],
      ['p(50)<100', 2, true],
    ])
    const violations = evaluateBudgets(summary, budgets, work(41))
    expect(violations.map((v) => formatViolation({ file: 'e2e-latency', bench: 'e2e linear' }, v))).toEqual([
      'budget violated: e2e-latency > e2e linear: statements/task = 41.00, limit < 40',
    ])
    expect(checkBudgets(summary, budgets).map((c) => c.expression)).toEqual(['p(50)<100'])
    expect(evaluateBudgets(summary, budgets)).toEqual([])
  })

  test('the hooks join recorded work to its measurement by name, check it, print it, and the results entry carries it', () => {
    const meta = {} as TaskMeta
    const finished = { meta, benchmarks: [] as TestBenchmark[], file: { name: 'benchmarks/e2e-latency.bench.ts' } }
    recordSamples(finished, 'e2e linear', [10, 11, 12])
    recordWork(finished, 'e2e linear', work(45))
    const book = new BudgetBook(new Map([['e2e-latency', new Map([['e2e linear', [parseBudgetExpression('statements/task<40', 'f')]]])]]))
    const checked = checkTestResults(finished, () => book)
    expect(checked.violations).toEqual(['budget violated: e2e-latency > e2e linear: statements/task = 45.00, limit < 40'])
    expect(checked.lines[0]).toContain('[work]  e2e-latency > e2e linear: 45.0 statements (22.5 round trips)')
    expect(checked.lines[0]).toContain('CPU 5.00 ms (node: worker 3.00, postgres: tasker-worker 2.00)')
    const doc = buildResultsDocument({} as never, [{ module: 'benchmarks/e2e-latency.bench.ts', test: 't', state: 'failed', meta }])
    expect(doc.results[0]!.work?.perTask.statements).toBe(45)
    expect(doc.results[0]!.budgets).toEqual([{ expression: 'statements/task<40', operator: '<', limit: 40, observed: 45, passed: false }])
  })

  test('the line says what is counted per task', () => {
    expect(workLine(work(40))).toMatch(/^40\.0 statements \(20\.0 round trips\), \? rows, 300 blocks .*12\.0 kB WAL.* per task \(10 tasks\); background 2\.00 statements\/s subtracted$/)
  })
})
