/**
 * The minimal chain (harness/bench/baselines/minimal), the second reference line of the
 * efficiency table, on a real embedded PostgreSQL: every step of every E2E shape runs once and
 * after all its parents, each task completes once with the right value, tasks started together
 * stay apart, and the claim hands a row to one claimer only.
 */
import { describe, expect, it } from 'vitest'
import pg from 'pg'
import { usePostgres } from './support/postgres.ts'
import { INPUT, itRunsEveryShape, joinCountersAfterShapeRuns, loadE2eDags, TASKS_PER_SHAPE, twoSinkTree, useBaseline } from './support/baseline-run.ts'
import { SHAPES } from '../harness/bench/baselines/dag.ts'
import { installMinimalChain, startMinimalChain } from '../harness/bench/baselines/minimal/start-minimal.ts'
import { CLAIM } from '../harness/bench/baselines/minimal/statements.ts'

const db = usePostgres()

describe('minimal chain on the E2E shapes', () => {
  const dags = loadE2eDags()
  const chain = useBaseline(() => startMinimalChain(dags, { databaseUrl: db.server.url, workers: 2, concurrency: 8, statementTimeoutMs: 30_000, input: INPUT }))

  itRunsEveryShape(chain, dags)

  it('claims every row once and leaves no unfinished join counter behind', async () => {
    const steps = TASKS_PER_SHAPE * SHAPES.reduce((n, s) => n + dags[s].steps.length, 0)
    const { rows } = await db.pool.query<{ rows: number; unclaimed: number; open: number; joins: number }>(
      `SELECT (SELECT count(*)::int FROM minimal_chain.steps) AS rows,
              (SELECT count(*)::int FROM minimal_chain.steps WHERE NOT claimed) AS unclaimed,
              (SELECT count(*)::int FROM minimal_chain.joins WHERE remaining <> 0) AS open,
              (SELECT count(*)::int FROM minimal_chain.joins) AS joins`,
    )
    expect(rows[0]).toEqual({ rows: steps, unclaimed: 0, open: 0, joins: joinCountersAfterShapeRuns(dags) })
  })

  it('refuses a DAG with two last steps (it would announce two completions)', async () => {
    await expect(startMinimalChain({ ...dags, tree: twoSinkTree() }, { databaseUrl: db.server.url, workers: 1, concurrency: 1, statementTimeoutMs: 30_000 })).rejects.toThrow(/tree has 2 last steps/)
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
