/**
 * A work meter on one PostgreSQL server: snapshots of pg_stat_statements, pg_stat_database, the
 * pgmq queues' message ids and archives (pgmq-messages.ts) and the processes' CPU at the start and
 * end of a measured window, an idle window (once per meter,
 * before the first measured one) for the timer-driven background, and the WorkMeasurement of
 * harness/results/work.ts for the database(s) a system under test works in.
 */
import { WORK_FORMAT, type WorkCounter, type WorkMeasurement } from '../../results/work.ts'
import { connectPg } from '../../db/connect.ts'
import { withDatabase } from '../../db/database-url.ts'
import type { PgLimits } from '../../db/limits.ts'
import { openPgStats, type PgStatsReader } from './pg-stats.ts'
import { openPgmqMessages, PGMQ_MESSAGES_COUNTED, type MessageCounts } from './pgmq-messages.ts'
import { QUIET_TABLES, quietTables, type QuietTables } from './quiet-tables.ts'
import { cpuSince, cpuSnapshot, nodeServices, postgresBackends, type CpuSnapshot, type GroupCpu } from './process-cpu.ts'
import {
  backgroundRates,
  diffSnapshots,
  divideCounters,
  NOTIFIES_COUNTED,
  onlyDatabases,
  PGMQ_COUNTED,
  round,
  statementTable,
  subtractBackground,
  workTotals,
  type StatDelta,
  type StatSnapshot,
} from './statement-delta.ts'

export interface WorkMeterOptions {
  /** a database on the server to read the statistics from (see pg-stats.ts) */
  statsUrl: string
  /** the suite started this server: it may create the extension's view in statsUrl's database */
  owned: boolean
  /** every database a window may be asked about */
  databases: string[]
  /** this checkout, to find its Node services in /proc */
  root: string
  limits: PgLimits
  /** idle window for the background rates, ms (0: none) */
  idleMs: number
  /** the longest wait for pg_stat_database to settle after a window, ms */
  settleMs: number
  /** what else could be counted, for the report */
  otherActivity: string
  /** the measuring process's CPU group name */
  selfName: string
  /** pause autovacuum while open, vacuum when a window asks (quiet-tables.ts): only on a server the suite owns */
  vacuumBeforeWindows?: boolean
}

export interface CpuAttribution {
  /** node groups (`node: worker`) that belong to the system; PostgreSQL backends go by database */
  nodeGroups?: readonly string[]
  /** count the measuring process and the server's own processes (checkpointer, WAL writer…) */
  shared?: boolean
}

export interface WindowResult {
  /** the WorkMeasurement of `tasks` completed tasks in `databases` (default: all of the meter's) */
  measure(tasks: number, databases?: readonly string[], cpu?: CpuAttribution): WorkMeasurement
}

export interface WorkMeter {
  /** `vacuum`: VACUUM (ANALYZE) first (only with vacuumBeforeWindows) */
  start(options?: { vacuum?: boolean }): Promise<{ stop(): Promise<WindowResult> }>
  close(): Promise<void>
}

const SETTLE_POLL_MS = 500
/** pg_stat_database unchanged over this long counts as settled (backends flush at most once a second) */
const SETTLE_STABLE_MS = 2000

/** The meter, or the one line that says why there is none. */
export async function openWorkMeter(o: WorkMeterOptions): Promise<WorkMeter | { missing: string }> {
  const client = await connectPg(o.statsUrl, 'work per task', o.limits)
  let reader: PgStatsReader
  try {
    const opened = await openPgStats(client, o.owned)
    if (!opened.ok) {
      await client.end().catch(() => {})
      return { missing: opened.missing }
    }
    reader = opened.reader
  } catch (err) {
    await client.end().catch(() => {})
    return { missing: `work per task: cannot read pg_stat_statements (${(err as Error).message})` }
  }
  if (o.vacuumBeforeWindows && !o.owned) throw new Error('work per task: vacuumBeforeWindows on a server the suite does not own')
  const quiet: QuietTables | undefined = o.vacuumBeforeWindows ? quietTables(client, o.statsUrl, o.databases, o.limits) : undefined
  const messages = openPgmqMessages((db) => withDatabase(o.statsUrl, db), o.databases, o.limits)
  let idle: StatDelta | undefined
  const processes = async () => new Map([...nodeServices(o.root), ...(await postgresBackends(client))])
  const measureIdle = async () => {
    const before = await reader.snapshot(o.databases)
    await sleep(o.idleMs)
    idle = diffSnapshots(before, await reader.snapshot(o.databases))
  }
  return {
    async start(options = {}) {
      await quiet?.pause()
      if (options.vacuum) await quiet?.vacuum()
      if (idle === undefined && o.idleMs > 0) await measureIdle()
      const cpu0 = cpuSnapshot(await processes())
      const mark = await messages.mark()
      const stats0 = await reader.snapshot(o.databases)
      return {
        async stop() {
          const stats1 = await reader.snapshot(o.databases)
          const cpu = cpuSince(cpu0, o.selfName)
          const sent = await messages.since(mark)
          const settle = await settleDatabases(reader, o.databases, stats1, o.settleMs, idle)
          return { measure: (tasks, databases, attribution) => measurement(o, reader, { stats0, stats1, cpu, cpu0, settle, idle, messages: sent }, tasks, databases ?? o.databases, attribution) }
        },
      }
    },
    async close() {
      await quiet?.close()
      await messages.close()
      await client.end().catch(() => {})
    },
  }
}

/**
 * Polls pg_stat_database until it stops moving beyond the background (bounded): a backend flushes
 * its counters at most once a second while busy, and within 10 s once idle (PostgreSQL 15+).
 * "Settled": over SETTLE_STABLE_MS the commits grew by no more than the idle window's rate allows.
 */
async function settleDatabases(reader: PgStatsReader, databases: readonly string[], end: StatSnapshot, maxMs: number, idle: StatDelta | undefined) {
  const t0 = performance.now()
  const commits = (rows: readonly { commits: number }[]) => rows.reduce((a, r) => a + r.commits, 0)
  const idleRate = idle && idle.ms > 0 ? commits(idle.databases) / idle.ms : 0
  const allowance = idleRate * SETTLE_STABLE_MS * 1.5 + 2
  const history: { at: number; commits: number }[] = [{ at: t0, commits: commits(end.databases) }]
  let current = end.databases
  while (performance.now() - t0 < maxMs) {
    await sleep(SETTLE_POLL_MS)
    current = await reader.databases(databases)
    const now = { at: performance.now(), commits: commits(current) }
    history.push(now)
    const then = history.find((h) => now.at - h.at <= SETTLE_STABLE_MS)!
    if (now.at - history[0]!.at >= SETTLE_STABLE_MS && now.commits - then.commits <= allowance) {
      return { databases: current, settled: true, waitedMs: Math.round(now.at - t0), at: now.at }
    }
  }
  return { databases: current, settled: false, waitedMs: Math.round(performance.now() - t0), at: performance.now() }
}

interface Window {
  stats0: StatSnapshot
  stats1: StatSnapshot
  cpu0: CpuSnapshot
  cpu: Map<string, GroupCpu>
  settle: Awaited<ReturnType<typeof settleDatabases>>
  idle: StatDelta | undefined
  messages: Map<string, MessageCounts>
}

function measurement(o: WorkMeterOptions, reader: PgStatsReader, w: Window, tasks: number, databases: readonly string[], attribution: CpuAttribution = { shared: true }): WorkMeasurement {
  if (!(tasks > 0)) throw new RangeError(`work per task: no task completed in the window (${tasks})`)
  const idle = w.idle && onlyDatabases(w.idle, databases)
  // statements: the window proper; pg_stat_database: up to the settled reading (its own length)
  const statements = subtractBackground(onlyDatabases(diffSnapshots(w.stats0, w.stats1), databases), idle)
  const dbDelta = subtractBackground(onlyDatabases(diffSnapshots(w.stats0, { ...w.stats1, at: w.settle.at, databases: w.settle.databases }), databases), idle)
  const totals = workTotals({ ...statements, databases: dbDelta.databases })
  const counted = messageCounts(w.messages, databases)
  if (counted.ok) Object.assign(totals, { pgmq_sent: counted.sent, pgmq_archived: counted.archived })
  const cpuMsPerTask: Record<string, number> = {}
  let cpuTotal = 0
  for (const [group, g] of [...w.cpu].sort((a, b) => b[1].ms - a[1].ms)) {
    const ours = group.startsWith('node: ')
      ? (attribution.nodeGroups?.includes(group) ?? attribution.shared) || (group === o.selfName && attribution.shared)
      : g.databases.length > 0
        ? g.databases.some((d) => databases.includes(d))
        : attribution.shared
    if (!ours) continue
    cpuMsPerTask[group] = round(g.ms / tasks)
    cpuTotal += g.ms
  }
  const perTask = divideCounters({ ...totals, cpu_ms: cpuTotal }, tasks)
  const unavailable: Partial<Record<WorkCounter, string>> = {}
  if (Object.keys(cpuMsPerTask).length <= 1) unavailable.cpu_ms = "only the measuring process is visible: the services and the server's processes run elsewhere (another host or a container)"
  const table = statementTable(statements, tasks)
  const idleSeconds = (idle?.ms ?? 0) / 1000
  return {
    format: WORK_FORMAT,
    tasks,
    windowMs: Math.round(statements.ms),
    databases: [...databases],
    perTask,
    cpuMsPerTask,
    statements: table.statements,
    ...(table.other ? { otherStatements: table.other } : {}),
    background: {
      windowMs: Math.round(idle?.ms ?? 0),
      perSecond: idle && idleSeconds > 0 ? pick(divideCounters(workTotals(idle), idleSeconds), ['statements', 'round_trips', 'rows', 'shared_blks', 'wal_bytes', 'commits']) : {},
      statements: idle ? backgroundRates(idle).slice(0, 20) : [],
    },
    ...(Object.keys(unavailable).length > 0 ? { unavailable } : {}),
    pgStatDatabase: { settled: w.settle.settled, waitedMs: w.settle.waitedMs },
    otherActivity: o.otherActivity,
    ...(o.vacuumBeforeWindows ? { preparation: QUIET_TABLES } : {}),
    source: `${reader.description}, /proc`,
    pgmqCounted: counted.ok ? PGMQ_MESSAGES_COUNTED : `${PGMQ_COUNTED} (sent and archived from statements too: ${counted.why})`,
    notifiesCounted: NOTIFIES_COUNTED,
  }
}

/** Sent and archived over `databases`, when every one of them could be counted. */
function messageCounts(counts: Map<string, MessageCounts>, databases: readonly string[]): { ok: true; sent: number; archived: number } | { ok: false; why: string } {
  let sent = 0
  let archived = 0
  for (const db of databases) {
    const c = counts.get(db) ?? { ok: false, why: `${db} was not counted` }
    if (!c.ok) return { ok: false, why: `${db}: ${c.why}` }
    sent += c.sent
    archived += c.archived
  }
  return { ok: true, sent, archived }
}

function pick<T extends Record<string, unknown>>(o: T, keys: readonly (keyof T)[]): Partial<T> {
  const out: Partial<T> = {}
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k]
  return out
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
