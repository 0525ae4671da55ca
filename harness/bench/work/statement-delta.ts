/**
 * The arithmetic of work per task, pure so it is tested without a server: the difference of two
 * pg_stat_statements / pg_stat_database snapshots (never a reset: other readers keep their
 * figures), the timer-driven background subtracted per query id, and the counters of
 * harness/results/work.ts per task.
 */
import type { StatementRate, StatementWork, WorkCounter } from '../../results/work.ts'

/** One pg_stat_statements entry (per database, query id and top-level flag), cumulative. */
export interface StatementStat {
  datname: string
  queryId: string
  toplevel: boolean
  query: string
  calls: number
  rows: number
  sharedBlksHit: number
  sharedBlksRead: number
  sharedBlksDirtied: number
  sharedBlksWritten: number
  tempBlks: number
  walRecords: number
  walBytes: number
  execMs: number
}

/** One database's pg_stat_database counters, cumulative. */
export interface DatabaseStat {
  datname: string
  commits: number
  rollbacks: number
  tupInserted: number
  tupUpdated: number
  tupDeleted: number
}

export interface StatSnapshot {
  /** performance.now() when taken */
  at: number
  statements: StatementStat[]
  databases: DatabaseStat[]
}

const STAT_FIELDS = ['calls', 'rows', 'sharedBlksHit', 'sharedBlksRead', 'sharedBlksDirtied', 'sharedBlksWritten', 'tempBlks', 'walRecords', 'walBytes', 'execMs'] as const
const DB_FIELDS = ['commits', 'rollbacks', 'tupInserted', 'tupUpdated', 'tupDeleted'] as const

const statKey = (s: Pick<StatementStat, 'datname' | 'queryId' | 'toplevel'>) => `${s.datname}\u0000${s.queryId}\u0000${s.toplevel ? 'T' : 'N'}`

/**
 * Statements that are the suite's own look at the server, never the system's work: the snapshots
 * themselves (pg_stat_statements, pg_stat_database, pg_stat_activity), the idle check's and
 * load bench's queue-depth probe (pgmq.metrics_all), and the message counts (pgmq-messages.ts).
 */
const SUITE_OWN = /\bpg_stat_(statements|database|activity)\b|\bpg_stat_statements_info\b|\bpgmq\.metrics_all\s*\(|\btasker_bench_work_meter\b/i

/**
 * A column alias in the suite's own statements that SUITE_OWN cannot otherwise tell (an alias
 * survives pg_stat_statements' normalisation; a comment before the statement may not).
 */
export const SUITE_MARK = 'tasker_bench_work_meter'

export const isSuiteOwnStatement = (query: string): boolean => SUITE_OWN.test(query)

/** What happened between two snapshots, per statement and per database (only what moved). */
export interface StatDelta {
  ms: number
  statements: StatementStat[]
  databases: DatabaseStat[]
}

/**
 * after − before. An entry absent before (new query id) counts whole. An entry whose calls went
 * down was evicted and re-created in between (pg_stat_statements.max, or someone's reset): its
 * figures since then count whole, which can only undercount.
 */
export function diffSnapshots(before: StatSnapshot, after: StatSnapshot): StatDelta {
  const earlier = new Map(before.statements.map((s) => [statKey(s), s]))
  const statements: StatementStat[] = []
  for (const s of after.statements) {
    if (isSuiteOwnStatement(s.query)) continue
    const b = earlier.get(statKey(s))
    const d = { ...s }
    if (b && b.calls <= s.calls) for (const f of STAT_FIELDS) d[f] = s[f] - b[f]
    if (d.calls > 0) statements.push(d)
  }
  const dbBefore = new Map(before.databases.map((d) => [d.datname, d]))
  const databases = after.databases.map((a) => {
    const b = dbBefore.get(a.datname)
    const d = { ...a }
    if (b) for (const f of DB_FIELDS) d[f] = Math.max(0, a[f] - b[f])
    return d
  })
  return { ms: after.at - before.at, statements, databases }
}

/**
 * The window's statements minus what ran on timers: per query id seen in the idle window, its idle
 * call rate × the window's length is the share of the window's calls that were background, and
 * that share of every figure goes (so a poll whose cost per call grows with the tables is removed
 * at today's cost, not the idle window's). A statement that runs both on a timer and per task (a
 * fallback poll with the same text as the event-driven read) keeps the calls beyond its timer rate.
 *
 * A slow timer (a recovery sweep every 15 s, one call per namespace) is seen once or twice in the
 * idle window, so its rate is known only to a factor of two, and a sweep costs thousands of
 * blocks: removing "rate × window" of it would leave a share that grows with the window's length,
 * i.e. with latency. A statement whose window calls are within what its timer could have made is
 * all background: a timer of period P ≤ the idle window I making bursts of b calls was seen
 * c ≥ b·⌊I/P⌋ times, and makes at most b·(W/P + 1) ≤ 2·c·W/I + c calls in a window W.
 */
export function subtractBackground(window: StatDelta, idle: StatDelta | undefined): StatDelta {
  if (!idle || idle.ms <= 0) return window
  const factor = window.ms / idle.ms
  const idleByKey = new Map(idle.statements.map((s) => [statKey(s), s]))
  const statements: StatementStat[] = []
  for (const s of window.statements) {
    const bg = idleByKey.get(statKey(s))
    const d = { ...s }
    if (bg) {
      const expected = bg.calls * factor
      const share = s.calls <= 2 * expected + bg.calls ? 1 : expected / s.calls
      for (const f of STAT_FIELDS) d[f] = s[f] * (1 - share)
    }
    if (d.calls > 1e-9) statements.push(d)
  }
  const idleDb = new Map(idle.databases.map((d) => [d.datname, d]))
  const databases = window.databases.map((w) => {
    const bg = idleDb.get(w.datname)
    const d = { ...w }
    if (bg) for (const f of DB_FIELDS) d[f] = Math.max(0, w[f] - bg[f] * factor)
    return d
  })
  return { ms: window.ms, statements, databases }
}

/** Only the named databases' statements and counters. */
export function onlyDatabases(delta: StatDelta, datnames: readonly string[]): StatDelta {
  const keep = new Set(datnames)
  return { ms: delta.ms, statements: delta.statements.filter((s) => keep.has(s.datname)), databases: delta.databases.filter((d) => keep.has(d.datname)) }
}

/** pgmq's own statements on its queue (q_) and archive (a_) tables, which every pgmq function runs nested. */
const PGMQ_SEND = /\bINSERT\s+INTO\s+pgmq\."?q_/i
const PGMQ_READ = /\bUPDATE\s+pgmq\."?q_\w*"?\s+(?:AS\s+)?\w*\s*SET\b[\s\S]*\bread_ct\s*=\s*(?:\w+\.)?read_ct\s*\+/i
const PGMQ_ARCHIVE = /\bINSERT\s+INTO\s+pgmq\."?a_/i
const PGMQ_DELETE = /\bDELETE\s+FROM\s+pgmq\."?q_/i
/** Statements that queue a notification: NOTIFY, pg_notify(…). */
const NOTIFY = /\bpg_notify\s*\(|^\s*NOTIFY\b/i

export const PGMQ_COUNTED =
  "rows of the statements that work on pgmq's tables (top-level or nested in pgmq's functions): INSERT INTO pgmq.a_… = archived, else UPDATE pgmq.q_… SET … read_ct = read_ct + … = read, else INSERT INTO pgmq.q_… = sent, else DELETE FROM pgmq.q_… = deleted; a statement that does several of these (CTEs) counts once, as the first, with its rows: compare like with like"
export const NOTIFIES_COUNTED = 'calls of statements that contain pg_notify(…) or are NOTIFY, top-level or nested (a trigger’s or function’s pg_notify counts once per call; NOTIFYs of functions in other languages are not seen)'

/** The counters of harness/results/work.ts summed over a delta (not yet per task). */
export function workTotals(delta: StatDelta): Partial<Record<WorkCounter, number>> {
  const c = {
    statements: 0,
    round_trips: 0,
    nested_statements: 0,
    rows: 0,
    shared_blks: 0,
    shared_blks_hit: 0,
    shared_blks_read: 0,
    shared_blks_dirtied: 0,
    shared_blks_written: 0,
    temp_blks: 0,
    wal_records: 0,
    wal_bytes: 0,
    pgmq_sent: 0,
    pgmq_read: 0,
    pgmq_deleted: 0,
    pgmq_archived: 0,
    notifies: 0,
  } satisfies Partial<Record<WorkCounter, number>>
  for (const s of delta.statements) {
    c.statements += s.calls
    c.rows += s.rows
    if (s.toplevel) {
      c.round_trips += s.calls
      // a top-level statement's blocks and WAL include those of the statements it ran inside
      c.shared_blks_hit += s.sharedBlksHit
      c.shared_blks_read += s.sharedBlksRead
      c.shared_blks_dirtied += s.sharedBlksDirtied
      c.shared_blks_written += s.sharedBlksWritten
      c.temp_blks += s.tempBlks
      c.wal_records += s.walRecords
      c.wal_bytes += s.walBytes
    } else c.nested_statements += s.calls
    if (PGMQ_ARCHIVE.test(s.query)) c.pgmq_archived += s.rows
    else if (PGMQ_READ.test(s.query)) c.pgmq_read += s.rows
    else if (PGMQ_SEND.test(s.query)) c.pgmq_sent += s.rows
    else if (PGMQ_DELETE.test(s.query)) c.pgmq_deleted += s.rows
    if (NOTIFY.test(s.query)) c.notifies += s.calls
  }
  c.shared_blks = c.shared_blks_hit + c.shared_blks_read
  const out: Partial<Record<WorkCounter, number>> = { ...c }
  if (delta.databases.length > 0) {
    out.commits = sum(delta.databases, 'commits')
    out.rollbacks = sum(delta.databases, 'rollbacks')
    out.tup_inserted = sum(delta.databases, 'tupInserted')
    out.tup_updated = sum(delta.databases, 'tupUpdated')
    out.tup_deleted = sum(delta.databases, 'tupDeleted')
  }
  return out
}

const sum = (rows: readonly DatabaseStat[], f: (typeof DB_FIELDS)[number]) => rows.reduce((a, r) => a + r[f], 0)

/** Every counter divided by `n` (tasks, or seconds for a rate), rounded to 4 significant figures. */
export function divideCounters(counters: Partial<Record<WorkCounter, number>>, n: number): Partial<Record<WorkCounter, number>> {
  const out: Partial<Record<WorkCounter, number>> = {}
  for (const [k, v] of Object.entries(counters) as [WorkCounter, number][]) out[k] = round(v / n)
  return out
}

export const round = (n: number): number => (n === 0 || !Number.isFinite(n) ? n : Number(n.toPrecision(4)))

/** pg_stat_statements' text as one line: whitespace collapsed, at most 300 characters. */
export function normaliseQuery(query: string): string {
  const line = query.replace(/\s+/g, ' ').trim()
  return line.length > 300 ? `${line.slice(0, 299)}…` : line
}

export const STATEMENT_TABLE_LIMIT = 100

/** The statement table of a window: per task, most calls first, at most STATEMENT_TABLE_LIMIT rows. */
export function statementTable(delta: StatDelta, tasks: number): { statements: StatementWork[]; other?: { count: number; calls: number } } {
  const sorted = [...delta.statements].sort((a, b) => b.calls - a.calls || b.sharedBlksHit + b.sharedBlksRead - (a.sharedBlksHit + a.sharedBlksRead) || a.queryId.localeCompare(b.queryId))
  const statements = sorted.slice(0, STATEMENT_TABLE_LIMIT).map((s) => ({
    queryId: s.queryId,
    toplevel: s.toplevel,
    database: s.datname,
    query: normaliseQuery(s.query),
    calls: round(s.calls / tasks),
    rows: round(s.rows / tasks),
    sharedBlks: round((s.sharedBlksHit + s.sharedBlksRead) / tasks),
    walBytes: round(s.walBytes / tasks),
    execMs: round(s.execMs / tasks),
  }))
  const rest = sorted.slice(STATEMENT_TABLE_LIMIT)
  return rest.length > 0 ? { statements, other: { count: rest.length, calls: round(rest.reduce((a, s) => a + s.calls, 0) / tasks) } } : { statements }
}

/** The idle window's statements as rates per second, most frequent first. */
export function backgroundRates(idle: StatDelta): StatementRate[] {
  const seconds = idle.ms / 1000
  if (!(seconds > 0)) return []
  return [...idle.statements]
    .sort((a, b) => b.calls - a.calls)
    .map((s) => ({ queryId: s.queryId, toplevel: s.toplevel, database: s.datname, query: normaliseQuery(s.query), callsPerSecond: round(s.calls / seconds) }))
}
