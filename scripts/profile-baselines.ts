/**
 * Where the floor's time goes, next to the minimal chain and the peer (docs/efficiency.md): starts
 * an embedded PostgreSQL with pg_stat_statements, one database per baseline, and
 *   1. runs --tasks tasks of --shape on each baseline, interleaved (one of each per round, the
 *      order rotating), and prints each one's p50 / p90 and the ratios floor ÷ peer and
 *      minimal chain ÷ peer, measured in the same run;
 *   2. runs --tasks tasks on each baseline alone and prints its work per task: statements sent
 *      (round trips) and the statements inside functions, with their calls and time per task.
 *
 *   node scripts/profile-baselines.ts [--tasks 200] [--shape linear] [--workers 2]
 *
 * It stops everything it started, also on Ctrl-C. Read the times as ratios on a loaded machine.
 */
import { parseArgs } from 'node:util'
import path from 'node:path'
import { connectPg } from '../harness/db/connect.ts'
import { onCleanup, runCleanups } from '../harness/main/cleanup.ts'
import { startEmbeddedPostgres } from '../harness/main/postgres/embedded.ts'
import { percentile } from '../harness/results/percentiles.ts'
import { installPgmq } from '../orchestrator/index.ts'
import { withClient } from '../harness/db/with-client.ts'
import { loadDags, SHAPES } from '../harness/bench/baselines/dag.ts'
import { WORKER_CONCURRENCY, type Baseline } from '../harness/bench/baselines/baseline.ts'
import { startFloor } from '../harness/bench/baselines/floor/start-floor.ts'
import { startPeer } from '../harness/bench/baselines/peer/start-peer.ts'
import { startMinimalChain } from '../harness/bench/baselines/minimal/start-minimal.ts'
import type { Shape } from '../harness/bench/tasker/workflows.ts'

const STATEMENTS = `
  SELECT calls, total_exec_time AS total_ms, toplevel, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) AS query
    FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
   WHERE d.datname = $1 AND query NOT LIKE '%pg_stat_statements%'
   ORDER BY toplevel DESC, calls DESC, total_exec_time DESC`

function count(name: string, raw: string | undefined, def: number, min: number, max: number): number {
  if (raw === undefined) return def
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} takes a whole number from ${min} to ${max} (got ${raw})`)
  return n
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { tasks: { type: 'string' }, shape: { type: 'string' }, workers: { type: 'string' } } })
  const tasks = count('tasks', values.tasks, 200, 1, 100_000)
  const workers = count('workers', values.workers, 2, 1, 32)
  const shape = (values.shape ?? 'linear') as Shape
  if (!SHAPES.includes(shape)) throw new Error(`--shape takes one of ${SHAPES.join(', ')} (got ${shape})`)

  const postgres = await startEmbeddedPostgres({
    binDir: process.env.PG_BIN_DIR || undefined,
    settings: { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'all' },
  })
  onCleanup('embedded PostgreSQL', () => postgres.stop())
  const url = (db: string) => postgres.url.replace(/\/postgres$/, `/${db}`)
  const admin = await connectPg(postgres.url, 'profile admin')
  onCleanup('admin connection', () => admin.end())
  await admin.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements')
  for (const db of ['floor', 'minimal', 'peer']) await admin.query(`CREATE DATABASE ${db}`)
  await withClient(url('floor'), installPgmq)

  const dags = loadDags(path.resolve('fixtures/templates'))
  const options = { workers, concurrency: WORKER_CONCURRENCY, statementTimeoutMs: 30_000 }
  const baselines: Record<string, Baseline> = {
    floor: await startFloor(dags, { ...options, databaseUrl: url('floor') }),
    minimal: await startMinimalChain(dags, { ...options, databaseUrl: url('minimal') }),
    peer: await startPeer(dags, { ...options, databaseUrl: url('peer') }),
  }
  for (const [name, b] of Object.entries(baselines)) onCleanup(name, () => b.close())
  const names = Object.keys(baselines)

  for (const name of names) for (let i = 0; i < 20; i++) await baselines[name]!.runTask(shape, 30_000) // warm-up

  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]))
  for (let i = 0; i < tasks; i++) {
    const order = [...names.slice(i % names.length), ...names.slice(0, i % names.length)]
    for (const name of order) samples[name]!.push((await baselines[name]!.runTask(shape, 30_000)).ms)
  }
  const p = (name: string, q: number) => percentile([...samples[name]!].sort((a, b) => a - b), q)
  console.log(`\n${shape}, ${tasks} tasks each, interleaved (${workers} worker process(es) × ${WORKER_CONCURRENCY}):`)
  for (const name of names) console.log(`  ${name.padEnd(8)} p50 ${p(name, 50).toFixed(2).padStart(7)} ms   p90 ${p(name, 90).toFixed(2).padStart(7)} ms`)
  console.log(`  p50 ratios: floor ÷ peer ${(p('floor', 50) / p('peer', 50)).toFixed(2)}, minimal ÷ peer ${(p('minimal', 50) / p('peer', 50)).toFixed(2)}, floor ÷ minimal ${(p('floor', 50) / p('minimal', 50)).toFixed(2)}`)

  for (const name of names) {
    await admin.query('SELECT pg_stat_statements_reset()')
    for (let i = 0; i < tasks; i++) await baselines[name]!.runTask(shape, 30_000)
    const { rows } = await admin.query<{ calls: string; total_ms: number; toplevel: boolean; query: string }>(STATEMENTS, [name])
    const sent = rows.filter((r) => r.toplevel).reduce((n, r) => n + Number(r.calls), 0) / tasks
    console.log(`\n${name}: ${sent.toFixed(1)} statements sent per task (${dags[shape].steps.length} steps); per task (T = sent, else inside a function):`)
    for (const r of rows) {
      if (Number(r.calls) / tasks < 0.05) continue
      console.log(`  ${(Number(r.calls) / tasks).toFixed(2).padStart(6)}× ${(r.total_ms / tasks).toFixed(3).padStart(7)} ms ${r.toplevel ? 'T' : ' '} ${r.query}`)
    }
  }
}

main()
  .catch((err: Error) => {
    console.error(err.message)
    process.exitCode = 1
  })
  .finally(() => runCleanups())
