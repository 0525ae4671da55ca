/**
 * Where the reference orchestrator's time goes: starts an embedded PostgreSQL with
 * pg_stat_statements and the reference orchestrator (2 workers), then
 *   1. runs --tasks linear tasks one after another (latency of an idle system), and
 *   2. creates --burst linear tasks at once and waits for all (throughput when saturated),
 * and prints for each phase the end-to-end figures, the PostgreSQL CPU time per task (from
 * /proc, all server processes), the CPU time per task of each group of processes (the services,
 * their PostgreSQL backends by application name, this process), and the statements that took the
 * most database time, per task — top-level statements and the statements inside the
 * orchestrator's SQL functions alike. On a machine where a system call costs much (a virtual
 * machine), the services' CPU goes largely to writing to their sockets: count round trips.
 *
 *   npm run orchestrator:profile -- [--tasks 200] [--burst 1000] [--workers 2] [--top 15]
 *
 * It measures the embedded set-up only (it starts its own server and stops everything it started,
 * also on Ctrl-C). Use it before tuning: the statements' own figures include the time they waited
 * for a CPU, so read them as shares, not as costs on an idle machine.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { cpuSince, cpuSnapshot, nodeServices, postgresBackends, type ProcessGroup } from '../harness/bench/work/process-cpu.ts'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import type pg from 'pg'
import { connectPg } from '../harness/db/connect.ts'
import { onCleanup, runCleanups } from '../harness/main/cleanup.ts'
import { startEmbeddedOrchestrator } from '../harness/main/orchestrator/embedded.ts'
import { startEmbeddedPostgres } from '../harness/main/postgres/embedded.ts'
import { percentile } from '../harness/results/percentiles.ts'
import { createTaskerClient } from '../harness/tasker/api-client.ts'
import { createEventWatcher } from '../harness/tasker/completion.ts'
import { loadWorkflows, taskRequest } from '../harness/bench/tasker/workflows.ts'

const TOP_STATEMENTS = `
  SELECT calls, total_exec_time AS total_ms, toplevel,
         left(regexp_replace(query, '\\s+', ' ', 'g'), 100) AS query
  FROM pg_stat_statements
  WHERE query NOT LIKE '%pg_stat_statements%'
  ORDER BY total_exec_time DESC
  LIMIT $1`

function count(name: string, raw: string | undefined, def: number, min: number, max: number): number {
  if (raw === undefined) return def
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} takes a whole number from ${min} to ${max} (got ${raw})`)
  return n
}

/**
 * Who burns the CPU: every process of the set-up (PostgreSQL backends by application name, the
 * services, this process with its HTTP client and completion watcher), as pid → group
 * (harness/bench/work/process-cpu.ts, which the benches' work per task uses too).
 */
async function processGroups(db: pg.Client): Promise<Map<number, ProcessGroup>> {
  return new Map([...nodeServices(process.cwd()), ...(await postgresBackends(db))])
}

/** CPU milliseconds (user + system) of every postgres process owned by `uid`, from /proc. */
function postgresCpuMs(uid: number): number {
  let ticks = 0
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8')
      const owner = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1])
      if (owner !== uid || !/^Name:\s+postgres/m.test(status)) continue
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      ticks += Number(f[11]) + Number(f[12])
    } catch {
      // the process ended meanwhile
    }
  }
  return (ticks * 1000) / 100 // USER_HZ is 100 on Linux
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { tasks: { type: 'string' }, burst: { type: 'string' }, workers: { type: 'string' }, top: { type: 'string' } },
  })
  const tasks = count('tasks', values.tasks, 200, 1, 100_000)
  const burst = count('burst', values.burst, 1000, 0, 100_000)
  const workers = count('workers', values.workers, 2, 1, 32)
  const top = count('top', values.top, 15, 1, 100)

  const postgres = await startEmbeddedPostgres({
    binDir: process.env.PG_BIN_DIR || undefined,
    settings: { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'all' },
  })
  onCleanup('embedded PostgreSQL', () => postgres.stop())
  const logDir = mkdtempSync(path.join(os.tmpdir(), 'tasker-profile-logs-'))
  onCleanup(`log dir ${logDir}`, () => rmSync(logDir, { recursive: true, force: true }))
  const orchestrator = await startEmbeddedOrchestrator({ databaseUrl: postgres.url, workers, logDir, coordination: 'process' })
  const api = createTaskerClient(orchestrator.url)
  const watcher = await createEventWatcher(postgres.url, api)
  onCleanup('completion watcher', () => watcher.close())
  const db = await connectPg(postgres.url, 'profile')
  onCleanup('profile connection', () => db.end())
  await db.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements')
  // The embedded server runs as the postgres user when started by root, else as this user.
  const serverUid = process.getuid?.() === 0 ? uidOf('postgres') : (process.getuid?.() ?? -1)

  const linear = loadWorkflows(path.resolve('fixtures/templates')).linear
  let unique = 0
  const create = () => api.createTask(taskRequest(linear, { _profile: `${process.pid}-${++unique}` }))

  // Warm-up: connections, prepared statements, plan caches.
  for (let i = 0; i < Math.min(20, tasks); i++) await watcher.wait((await create()).task_uuid, 30_000)

  const phase = async (title: string, n: number, run: () => Promise<string>) => {
    await db.query('SELECT pg_stat_statements_reset()')
    const cpu0 = postgresCpuMs(serverUid)
    const processes0 = cpuSnapshot(await processGroups(db))
    const t0 = performance.now()
    const extra = await run()
    const wall = performance.now() - t0
    const cpuPerTask = (postgresCpuMs(serverUid) - cpu0) / n
    const byProcess = [...cpuSince(processes0, 'node: this profile (HTTP client, completion watcher)')].sort((a, b) => b[1].ms - a[1].ms)
    const totalPerTask = byProcess.reduce((sum, [, g]) => sum + g.ms, 0) / n
    const { rows } = await db.query<{ calls: string; total_ms: number; toplevel: boolean; query: string }>(TOP_STATEMENTS, [top])
    console.log(`\n${title}: ${n} linear tasks in ${(wall / 1000).toFixed(1)} s${extra}`)
    console.log(`  PostgreSQL CPU per task: ${cpuPerTask.toFixed(2)} ms (all server processes)`)
    console.log(`  CPU per task by process, ${totalPerTask.toFixed(2)} ms in all (${os.availableParallelism()} cores: wall time per task ${(wall / n).toFixed(2)} ms):`)
    for (const [name, g] of byProcess) {
      if (g.ms / n < 0.01) continue
      console.log(`  ${(g.ms / n).toFixed(2).padStart(7)} ms  ${name}${g.processes > 1 ? ` (${g.processes} processes)` : ''}`)
    }
    console.log(`  database time per task, by statement (T = sent by a service, else inside a function):`)
    for (const r of rows) {
      console.log(`  ${(r.total_ms / n).toFixed(2).padStart(7)} ms ${(Number(r.calls) / n).toFixed(1).padStart(5)}× ${r.toplevel ? 'T' : ' '} ${r.query}`)
    }
  }

  await phase('one at a time', tasks, async () => {
    const e2e: number[] = []
    const post: number[] = []
    for (let i = 0; i < tasks; i++) {
      const t0 = performance.now()
      const task = await create()
      post.push(performance.now() - t0)
      e2e.push((await watcher.wait(task.task_uuid, 30_000)).at - t0)
    }
    const q = (xs: number[], p: number) => percentile([...xs].sort((a, b) => a - b), p).toFixed(1)
    return `\n  end to end p50 ${q(e2e, 50)} / p95 ${q(e2e, 95)} / p99 ${q(e2e, 99)} ms; POST /v1/tasks p50 ${q(post, 50)} / p99 ${q(post, 99)} ms`
  })

  if (burst > 0) {
    await phase('all at once', burst, async () => {
      const t0 = performance.now()
      const ids = await Promise.all(Array.from({ length: burst }, () => create().then((t) => t.task_uuid)))
      const created = performance.now() - t0
      await Promise.all(ids.map((id) => watcher.wait(id, 300_000)))
      const done = performance.now() - t0
      return `\n  all created after ${(created / 1000).toFixed(1)} s, all complete after ${(done / 1000).toFixed(1)} s: ${((burst * 1000) / done).toFixed(0)} tasks/s`
    })
  }
}

function uidOf(user: string): number {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${user}:`))
  return line ? Number(line.split(':')[2]) : -1
}

main()
  .catch((err: Error) => {
    console.error(`[profile-orchestrator] ${err.message}`)
    process.exitCode = 1
  })
  .finally(() => runCleanups())
