/**
 * The peer baseline (graphile-worker, harness/bench/baselines/peer) on a real embedded PostgreSQL
 * with two real worker processes: every step of every E2E shape runs once, joins only after both
 * (all) parents, each task completes once, and no job or open join counter is left.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { usePostgres } from './support/postgres.ts'
import { expectCorrectRun, INPUT } from './support/baseline-run.ts'
import { buildDag, joins, loadDags, SHAPES } from '../harness/bench/baselines/dag.ts'
import { startPeer } from '../harness/bench/baselines/peer/start-peer.ts'
import type { Baseline } from '../harness/bench/baselines/baseline.ts'
import type { Shape } from '../harness/bench/tasker/workflows.ts'

const TEMPLATES = new URL('../fixtures/templates/', import.meta.url).pathname
const TASKS = 12

const db = usePostgres()

describe('peer (graphile-worker) on the E2E shapes', () => {
  const dags = loadDags(TEMPLATES)
  let peer: Baseline

  beforeAll(async () => {
    peer = await startPeer(dags, { databaseUrl: db.server.url, workers: 2, concurrency: 8, statementTimeoutMs: 30_000, input: INPUT })
  }, 120_000)
  afterAll(async () => {
    await peer?.close()
  }, 60_000)

  it.each(SHAPES)('%s: tasks one at a time and all at once, every step once and in dependency order', async (shape: Shape) => {
    const dag = dags[shape]
    for (let i = 0; i < 3; i++) expectCorrectRun(dag, (await peer.runTask(shape, 30_000)).completion)
    const together = await Promise.all(Array.from({ length: TASKS }, () => peer.runTask(shape, 60_000)))
    for (const sample of together) expectCorrectRun(dag, sample.completion)
    expect(new Set(together.map((s) => s.completion.t)).size).toBe(TASKS)
  }, 120_000)

  it('leaves no job and no unfinished join counter behind', async () => {
    // graphile-worker deletes a job when it completes; the last one may still be finishing.
    let jobs = -1
    for (let i = 0; i < 100 && jobs !== 0; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100))
      jobs = (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM graphile_worker.jobs')).rows[0]!.n
    }
    expect(jobs).toBe(0)
    const { rows } = await db.pool.query<{ open: number; joins: number }>(
      'SELECT count(*) FILTER (WHERE remaining <> 0)::int AS open, count(*)::int AS joins FROM peer_baseline.joins',
    )
    expect(rows[0]).toEqual({ open: 0, joins: (TASKS + 3) * SHAPES.reduce((n, s) => n + joins(dags[s]).length, 0) })
  })

  it('refuses a DAG with two last steps (it would announce two completions)', async () => {
    const twoSinks = buildDag('tree', [
      { name: 'a', dependencies: [] },
      { name: 'b', dependencies: ['a'] },
      { name: 'c', dependencies: ['a'] },
    ])
    await expect(startPeer({ ...dags, tree: twoSinks }, { databaseUrl: db.server.url, workers: 1, concurrency: 1, statementTimeoutMs: 30_000 })).rejects.toThrow(/tree has 2 last steps/)
  })
})
