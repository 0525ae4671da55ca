/**
 * The peer baseline (graphile-worker, harness/bench/baselines/peer) on a real embedded PostgreSQL
 * with two real worker processes: every step of every E2E shape runs once, joins only after both
 * (all) parents, each task completes once, and no job or open join counter is left.
 */
import { describe, expect, it } from 'vitest'
import { usePostgres } from './support/postgres.ts'
import { INPUT, itRunsEveryShape, joinCountersAfterShapeRuns, loadE2eDags, twoSinkTree, useBaseline } from './support/baseline-run.ts'
import { startPeer } from '../harness/bench/baselines/peer/start-peer.ts'

const db = usePostgres()

describe('peer (graphile-worker) on the E2E shapes', () => {
  const dags = loadE2eDags()
  const peer = useBaseline(() => startPeer(dags, { databaseUrl: db.server.url, workers: 2, concurrency: 8, statementTimeoutMs: 30_000, input: INPUT }))

  itRunsEveryShape(peer, dags)

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
    expect(rows[0]).toEqual({ open: 0, joins: joinCountersAfterShapeRuns(dags) })
  })

  it('refuses a DAG with two last steps (it would announce two completions)', async () => {
    await expect(startPeer({ ...dags, tree: twoSinkTree() }, { databaseUrl: db.server.url, workers: 1, concurrency: 1, statementTimeoutMs: 30_000 })).rejects.toThrow(/tree has 2 last steps/)
  })
})
