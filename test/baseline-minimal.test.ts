/**
 * The minimal chain (harness/bench/baselines/minimal), the second reference line of the
 * efficiency table, on a real embedded PostgreSQL: every step of every E2E shape runs once and
 * after all its parents, each task completes once with the right value, tasks started together
 * stay apart, and the claim hands a row to one claimer only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pg from 'pg'
import { usePostgres } from './support/postgres.ts'
import { expectCorrectRun, INPUT } from './support/baseline-run.ts'
import { buildDag, joins, loadDags, SHAPES } from '../harness/bench/baselines/dag.ts'
import { installMinimalChain, startMinimalChain } from '../harness/bench/baselines/minimal/start-minimal.ts'
import { CLAIM } from '../harness/bench/baselines/minimal/statements.ts'
import type { Baseline } from '../harness/bench/baselines/baseline.ts'
import type { Shape } from '../harness/bench/tasker/workflows.ts'

const TEMPLATES = new URL('../fixtures/templates/', import.meta.url).pathname
const TASKS = 12

const db = usePostgres()

describe('minimal chain on the E2E shapes', () => {
  const dags = loadDags(TEMPLATES)
  let chain: Baseline

  beforeAll(async () => {
    chain = await startMinimalChain(dags, { databaseUrl: db.server.url, workers: 2, concurrency: 8, statementTimeoutMs: 30_000, input: INPUT })
  }, 120_000)
  afterAll(async () => {
    await chain?.close()
  }, 60_000)

  it.each(SHAPES)('%s: tasks one at a time and all at once, every step once and in dependency order', async (shape: Shape) => {
    const dag = dags[shape]
    for (let i = 0; i < 3; i++) {
      const sample = await chain.runTask(shape, 30_000)
      expect(sample.ms).toBeGreaterThan(0)
      expectCorrectRun(dag, sample.completion)
    }
    const together = await Promise.all(Array.from({ length: TASKS }, () => chain.runTask(shape, 60_000)))
    for (const sample of together) expectCorrectRun(dag, sample.completion)
    expect(new Set(together.map((s) => s.completion.t)).size).toBe(TASKS)
  }, 120_000)

  it('claims every row once and leaves no unfinished join counter behind', async () => {
    const steps = (TASKS + 3) * SHAPES.reduce((n, s) => n + dags[s].steps.length, 0)
    const { rows } = await db.pool.query<{ rows: number; unclaimed: number; open: number; joins: number }>(
      `SELECT (SELECT count(*)::int FROM minimal_chain.steps) AS rows,
              (SELECT count(*)::int FROM minimal_chain.steps WHERE NOT claimed) AS unclaimed,
              (SELECT count(*)::int FROM minimal_chain.joins WHERE remaining <> 0) AS open,
              (SELECT count(*)::int FROM minimal_chain.joins) AS joins`,
    )
    expect(rows[0]).toEqual({ rows: steps, unclaimed: 0, open: 0, joins: (TASKS + 3) * SHAPES.reduce((n, s) => n + joins(dags[s]).length, 0) })
  })

  it('refuses a DAG with two last steps (it would announce two completions)', async () => {
    const twoSinks = buildDag('tree', [
      { name: 'a', dependencies: [] },
      { name: 'b', dependencies: ['a'] },
      { name: 'c', dependencies: ['a'] },
    ])
    await expect(startMinimalChain({ ...dags, tree: twoSinks }, { databaseUrl: db.server.url, workers: 1, concurrency: 1, statementTimeoutMs: 30_000 })).rejects.toThrow(/tree has 2 last steps/)
  })
})

describe('the claim', () => {
  it('two claimers at once take different rows, and a claimed row is never claimed again', async () => {
    await installMinimalChain(db.server.url)
    const t = crypto.randomUUID()
    await db.pool.query(`INSERT INTO minimal_chain.steps (message) SELECT jsonb_build_object('t', $1::text, 'n', n) FROM generate_series(1, 6) AS n`, [t])
    const a = new pg.Client({ connectionString: db.server.url })
    const b = new pg.Client({ connectionString: db.server.url })
    await a.connect()
    await b.connect()
    try {
      // a holds its claim open (its transaction not yet committed): b skips those rows
      await a.query('BEGIN')
      const first = await a.query<{ id: string }>(CLAIM, [4])
      const second = await b.query<{ id: string }>(CLAIM, [4])
      await a.query('COMMIT')
      const third = await b.query<{ id: string }>(CLAIM, [4])
      const ids = [...first.rows, ...second.rows].map((r) => r.id)
      expect(first.rows).toHaveLength(4)
      expect(second.rows).toHaveLength(2)
      expect(new Set(ids).size).toBe(6)
      expect(third.rows).toEqual([])
    } finally {
      await a.end()
      await b.end()
    }
  })
})
