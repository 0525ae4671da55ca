/**
 * The floor baseline (harness/bench/baselines/floor) on a real embedded PostgreSQL with the
 * suite's pgmq and two real worker processes: for every E2E shape, every step runs exactly once
 * and after all its parents, each task completes exactly once with the right values, and nothing
 * is left in the queue or the join counters. Plus the exactly-once guard itself: two runners of
 * one message, one effect.
 */
import { afterAll, describe, expect, it } from 'vitest'
import pg from 'pg'
import { installPgmq } from '../orchestrator/index.ts'
import { usePostgres } from './support/postgres.ts'
import { buildDag } from '../harness/bench/baselines/dag.ts'
import { installFloor, startFloor } from '../harness/bench/baselines/floor/start-floor.ts'
import { initialCounters, runFloorStep } from '../harness/bench/baselines/floor/run-step.ts'
import { QUEUE, READ } from '../harness/bench/baselines/floor/statements.ts'
import type { Baseline } from '../harness/bench/baselines/baseline.ts'
import { expectCorrectRun, INPUT, itRunsEveryShape, joinCountersAfterShapeRuns, loadE2eDags, twoSinkTree, useBaseline } from './support/baseline-run.ts'

const db = usePostgres(async (pool) => {
  const client = await pool.connect()
  try {
    await installPgmq(client)
  } finally {
    client.release()
  }
})

describe('floor on the E2E shapes', () => {
  const dags = loadE2eDags()
  // A fifth DAG with two sinks (the completion then waits for both), run under the tree's name.
  const twoSinks = twoSinkTree()
  const floor = useBaseline(() => startFloor(dags, { databaseUrl: db.server.url, workers: 2, concurrency: 8, statementTimeoutMs: 30_000, input: INPUT }))
  let twoSinkFloor: Baseline | undefined
  afterAll(async () => {
    await twoSinkFloor?.close()
  }, 60_000)

  it('reads the four shapes from the templates, with their joins', () => {
    expect(dags.linear.steps.map((s) => s.parents.length)).toEqual([0, 1, 1])
    expect(dags.diamond.steps.find((s) => s.name === 'diamond_end')?.parents.sort()).toEqual(['diamond_branch_b', 'diamond_branch_c'])
    expect(dags.tree.steps.find((s) => s.name === 'tree_final_convergence')?.parents).toHaveLength(4)
    expect(dags.mixed_dag.steps.find((s) => s.name === 'dag_finalize')?.parents).toHaveLength(3)
  })

  itRunsEveryShape(floor, dags)

  it('leaves no message and no unfinished join counter behind', async () => {
    const { rows } = await db.pool.query<{ queued: number; open: number; joins: number }>(
      `SELECT (SELECT count(*)::int FROM pgmq.q_${QUEUE}) AS queued,
              (SELECT count(*)::int FROM floor_baseline.joins WHERE remaining <> 0) AS open,
              (SELECT count(*)::int FROM floor_baseline.joins) AS joins`,
    )
    expect(rows[0]).toEqual({ queued: 0, open: 0, joins: joinCountersAfterShapeRuns(dags) })
  })

  it('a task with two sinks completes once, after both', async () => {
    await floor().close() // its workers would claim this floor's messages from the shared queue
    twoSinkFloor = await startFloor({ ...dags, tree: twoSinks }, { databaseUrl: db.server.url, workers: 1, concurrency: 2, statementTimeoutMs: 30_000, input: INPUT })
    const sample = await twoSinkFloor.runTask('tree', 30_000)
    expectCorrectRun(twoSinks, sample.completion)
  }, 120_000)
})

describe('the exactly-once guard', () => {
  it('two runners of the same message: one runs it, the other finds it done', async () => {
    await installFloor(db.server.url)
    const dag = buildDag('linear', [
      { name: 'one', dependencies: [] },
      { name: 'two', dependencies: ['one'] },
    ])
    const message = { t: crypto.randomUUID(), d: 'linear', s: 'one', in: INPUT, pv: [], tr: [] }
    const a = new pg.Client({ connectionString: db.server.url })
    const b = new pg.Client({ connectionString: db.server.url })
    await a.connect()
    await b.connect()
    try {
      const { rows } = await a.query<{ id: string }>('SELECT pgmq.send($1, $2::jsonb) AS id', [QUEUE, JSON.stringify(message)])
      const msgId = rows[0]!.id
      const outcomes = await Promise.all([runFloorStep(a, dag, msgId, message as never), runFloorStep(b, dag, msgId, message as never)])
      expect(outcomes.sort()).toEqual(['already done', 'ran'])
      // Exactly one child message was sent for it.
      const children = await a.query<{ message: { s: string; t: string } }>(READ, [QUEUE, 30, 10])
      expect(children.rows.filter((r) => r.message.t === message.t).map((r) => r.message.s)).toEqual(['two'])
    } finally {
      await a.end()
      await b.end()
    }
  })

  it('two runners of a join parent: the join is counted down once, and sent once when its last parent runs', async () => {
    await installFloor(db.server.url)
    const dag = buildDag('diamond', [
      { name: 'top', dependencies: [] },
      { name: 'left', dependencies: ['top'] },
      { name: 'right', dependencies: ['top'] },
      { name: 'bottom', dependencies: ['left', 'right'] },
    ])
    const t = crypto.randomUUID()
    const counters = initialCounters(dag)
    await db.pool.query('INSERT INTO floor_baseline.joins (task_id, step, remaining) SELECT $1::uuid, s, r FROM unnest($2::text[], $3::int[]) AS j(s, r)', [t, counters.steps, counters.remaining])
    const left = { t, d: 'diamond', s: 'left', in: INPUT, pv: [5], tr: ['top'] }
    const right = { ...left, s: 'right', pv: [5] }
    const send = async (m: object) => (await db.pool.query<{ id: string }>('SELECT pgmq.send($1, $2::jsonb) AS id', [QUEUE, JSON.stringify(m)])).rows[0]!.id
    const remaining = async () => (await db.pool.query<{ remaining: number }>('SELECT remaining FROM floor_baseline.joins WHERE task_id = $1', [t])).rows[0]!.remaining
    const a = new pg.Client({ connectionString: db.server.url })
    const b = new pg.Client({ connectionString: db.server.url })
    await a.connect()
    await b.connect()
    try {
      const leftId = await send(left)
      expect((await Promise.all([runFloorStep(a, dag, leftId, left as never), runFloorStep(b, dag, leftId, left as never)])).sort()).toEqual(['already done', 'ran'])
      expect(await remaining()).toBe(1)
      const rightId = await send(right)
      expect((await Promise.all([runFloorStep(b, dag, rightId, right as never), runFloorStep(a, dag, rightId, right as never)])).sort()).toEqual(['already done', 'ran'])
      expect(await remaining()).toBe(0)
      const sent = await a.query<{ message: { s: string; t: string; pv: number[]; tr: string[] } }>(READ, [QUEUE, 30, 10])
      const joinMessages = sent.rows.filter((r) => r.message.t === t).map((r) => r.message)
      expect(joinMessages).toHaveLength(1)
      const value = (5 * 5) % 1_000_003
      expect(joinMessages[0]).toMatchObject({ s: 'bottom', pv: [value, value] })
      // the parents' trails end to end; the join's runner keeps each step once
      expect(joinMessages[0]!.tr).toEqual(['top', 'left', 'top', 'right'])
    } finally {
      await a.end()
      await b.end()
    }
  })
})
