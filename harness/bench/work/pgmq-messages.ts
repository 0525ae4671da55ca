/**
 * pgmq messages sent and archived in a window, counted from pgmq's own state rather than from
 * statements: a statement's `rows` are not its messages when one statement does several things
 * (the reference's submit archives the step's message and sends the result; its evaluation
 * archives a batch of results and returns one row), so pg_stat_statements cannot count them.
 *
 * - sent: the growth of each queue's msg_id sequence (`q_<name>` is `GENERATED ALWAYS AS
 *   IDENTITY`, in pgmq and in the project's pgmq-compatible SQL). Immediate and exact; a send
 *   rolled back still used its id, so it counts.
 * - archived: rows of the `a_<name>` tables with `archived_at` (the archiving transaction's start)
 *   at or after the window's start, by the index pgmq keeps on that column.
 *
 * Read-only (SELECT on the catalogs, the sequences and the archive tables), on one session per
 * database, so it works unchanged on a deployment; where the role may not read a queue's sequence
 * or archive, `since` says so and the caller keeps the statement-based figures. The sessions' own
 * statements carry SUITE_MARK (a column alias) so the statement counters leave them out.
 */
import type pg from 'pg'
import { connectPg } from '../../db/connect.ts'
import type { PgLimits } from '../../db/limits.ts'
import { SUITE_MARK } from './statement-delta.ts'

export const PGMQ_MESSAGES_COUNTED =
  "sent: growth of each pgmq queue's msg_id sequence; archived: rows of pgmq's a_ tables archived since the window began (archived_at); read and deleted: rows of the statements that read (UPDATE pgmq.q_… SET … read_ct = read_ct + …) or delete (DELETE FROM pgmq.q_…, not moved to an archive)"

export interface MessageMark {
  /** the server's clock when the window began, µs since the epoch (exact, whatever DateStyle) */
  at: string
  /** database → queue table → the last msg_id handed out, or why it could not be read */
  sequences: Map<string, Map<string, number> | { why: string }>
}

export type MessageCounts = { ok: true; sent: number; archived: number } | { ok: false; why: string }

export interface PgmqMessages {
  /** taken just before a window's first statement snapshot */
  mark(): Promise<MessageMark>
  /** per database: what was sent and archived since `mark` (taken after the window's last snapshot) */
  since(mark: MessageMark): Promise<Map<string, MessageCounts>>
  close(): Promise<void>
}

const SEQUENCES = `
  SELECT true AS ${SUITE_MARK}, c.relname AS queue, s.seq,
         CASE WHEN s.seq IS NULL OR NOT has_sequence_privilege(s.seq, 'SELECT,USAGE') THEN NULL
              ELSE coalesce(pg_sequence_last_value(s.seq::regclass), 0)::float8 END AS last_value
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  CROSS JOIN LATERAL (SELECT pg_get_serial_sequence(format('%I.%I', n.nspname, c.relname), 'msg_id') AS seq) s
  WHERE n.nspname = 'pgmq' AND c.relname LIKE 'q\\_%' AND c.relkind IN ('r', 'p') AND NOT c.relispartition`

const SINCE = `'epoch'::timestamptz + $1::bigint * interval '1 microsecond'`

const ARCHIVES = `
  SELECT true AS ${SUITE_MARK}, c.relname AS archive, has_table_privilege(c.oid, 'SELECT') AS readable
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = 'pgmq' AND c.relname LIKE 'a\\_%' AND c.relkind IN ('r', 'p') AND NOT c.relispartition`

/** `urlFor(db)`: a connection string for database `db` on the measured server. */
export function openPgmqMessages(urlFor: (database: string) => string, databases: readonly string[], limits: PgLimits): PgmqMessages {
  const sessions = new Map<string, Promise<pg.Client>>()
  const session = (db: string) => {
    let s = sessions.get(db)
    if (!s) {
      // pg_catalog alone on the path: no function or operator of the database's own can stand in
      s = connectPg(urlFor(db), 'work per task (pgmq messages)', limits).then(async (c) => {
        await c.query(`SELECT pg_catalog.set_config('search_path', 'pg_catalog', false)`).catch(async (err: unknown) => {
          await c.end().catch(() => {})
          throw err
        })
        return c
      })
      s.catch(() => {}) // a database the role cannot enter is reported by since()
      sessions.set(db, s)
    }
    return s
  }
  const sequences = async (db: string) => {
    const { rows } = await (await session(db)).query<{ queue: string; seq: string | null; last_value: number | null }>(SEQUENCES)
    return rows
  }
  return {
    async mark() {
      const mark: MessageMark = { at: '', sequences: new Map() }
      for (const db of databases) {
        try {
          const rows = await sequences(db)
          mark.sequences.set(db, new Map(rows.filter((r) => r.last_value !== null).map((r) => [r.queue, r.last_value!])))
          mark.at ||= await clock(session(db))
        } catch (err) {
          mark.sequences.set(db, { why: (err as Error).message })
        }
      }
      return mark
    },
    async since(mark) {
      const out = new Map<string, MessageCounts>()
      for (const db of databases) out.set(db, await countSince(db, mark).catch((err: Error) => ({ ok: false, why: err.message }) as const))
      return out
    },
    async close() {
      for (const s of sessions.values()) await (await s.catch(() => undefined))?.end().catch(() => {})
    },
  }

  async function countSince(db: string, mark: MessageMark): Promise<MessageCounts> {
    const before = mark.sequences.get(db) ?? new Map<string, number>()
    if (!(before instanceof Map)) return { ok: false, why: before.why }
    let sent = 0
    for (const r of await sequences(db)) {
      if (r.seq === null) return { ok: false, why: `pgmq.${r.queue} has no msg_id sequence` }
      if (r.last_value === null) return { ok: false, why: `this role may not read ${r.seq} (SELECT or USAGE on the sequence)` }
      const earlier = before.get(r.queue) ?? 0
      // a queue dropped and created again in the window starts its ids anew: all of them are new
      sent += r.last_value >= earlier ? r.last_value - earlier : r.last_value
    }
    const client = await session(db)
    const { rows: archives } = await client.query<{ archive: string; readable: boolean }>(ARCHIVES)
    const unreadable = archives.find((a) => !a.readable)
    if (unreadable) return { ok: false, why: `this role may not read pgmq.${unreadable.archive} (SELECT)` }
    let archived = 0
    if (archives.length > 0) {
      const counts = archives.map((a) => `SELECT count(*) AS n FROM pgmq.${client.escapeIdentifier(a.archive)} WHERE archived_at >= ${SINCE}`)
      const { rows } = await client.query<{ n: number }>(`SELECT true AS ${SUITE_MARK}, coalesce(sum(n), 0)::float8 AS n FROM (${counts.join(' UNION ALL ')}) c`, [mark.at])
      archived = rows[0]?.n ?? 0
    }
    return { ok: true, sent, archived }
  }
}

async function clock(session: Promise<pg.Client>): Promise<string> {
  const { rows } = await (await session).query<{ at: string }>(`SELECT true AS ${SUITE_MARK}, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint::text AS at`)
  return rows[0]?.at ?? ''
}
