/**
 * Same table state at the start of every measured window, on a server the suite owns only:
 * `VACUUM (ANALYZE)` of the system's database(s) before the window, and autovacuum paused until it
 * ends (ALTER SYSTEM, then reloaded; reset after the window and when the meter closes).
 *
 * Why: the blocks a statement touches depend on dead tuples, HOT chains and the planner's
 * statistics. With autovacuum on, when it runs is a matter of wall-clock time (its naptime), so a
 * slower window (a loaded machine) runs more of its tasks after an autovacuum/autoanalyze than a
 * fast one and reads a different number of blocks per task. Vacuuming at the window's start and
 * holding autovacuum off makes that state a function of the tasks run, as pgbench does (VACUUM
 * before each run). A server the suite did not create is never touched (bench-work.ts decides).
 */
import type pg from 'pg'
import { connectPg, type PgLimits } from '../pg/limits.ts'

export const QUIET_TABLES = 'VACUUM (ANALYZE) of the database(s) before the window, autovacuum paused during it (the suite’s own server)'

export interface QuietTables {
  /** vacuum + analyze every database, autovacuum off; resolves when the statistics are flushed */
  beforeWindow(): Promise<void>
  /** autovacuum back to the server's setting */
  afterWindow(): Promise<void>
  close(): Promise<void>
}

/** `url` with its database replaced by `database`. */
export function urlFor(url: string, database: string): string {
  const u = new URL(url)
  u.pathname = `/${encodeURIComponent(database)}`
  return u.toString()
}

/**
 * `admin`: a superuser session on the server (ALTER SYSTEM); one session per database is opened
 * for the VACUUM (it must run in the database it cleans) and kept, so its statistics are flushed
 * before the window (pg_stat_force_next_flush) instead of at an exit that could land inside it.
 */
export function quietTables(admin: pg.Client, serverUrl: string, databases: readonly string[], limits: PgLimits): QuietTables {
  const sessions = new Map<string, Promise<pg.Client>>()
  const session = (db: string) => {
    let s = sessions.get(db)
    if (!s) {
      s = connectPg(urlFor(serverUrl, db), 'work per task (vacuum)', limits)
      sessions.set(db, s)
    }
    return s
  }
  let paused = false
  const setAutovacuum = async (off: boolean) => {
    await admin.query(off ? 'ALTER SYSTEM SET autovacuum = off' : 'ALTER SYSTEM RESET autovacuum')
    await admin.query('SELECT pg_reload_conf()')
    paused = off
  }
  return {
    async beforeWindow() {
      await setAutovacuum(true)
      for (const db of databases) {
        const c = await session(db)
        await c.query('VACUUM (ANALYZE)')
        // flushed as this session goes idle, before the reply: none of it lands in the window
        await c.query('SELECT pg_stat_force_next_flush()')
      }
    },
    async afterWindow() {
      if (paused) await setAutovacuum(false)
    },
    async close() {
      if (paused) await setAutovacuum(false).catch(() => {})
      for (const s of sessions.values()) await (await s.catch(() => undefined))?.end().catch(() => {})
    },
  }
}
