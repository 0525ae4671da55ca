/**
 * Table state that is a function of the tasks run, not of wall-clock time, on a server the suite
 * owns only: autovacuum paused while the meter is open (ALTER SYSTEM, reloaded; reset when it
 * closes), and `VACUUM (ANALYZE)` of the system's database(s) when a bench asks for it (after a
 * warm-up, before the counted samples).
 *
 * Why: the blocks a statement touches depend on dead tuples, HOT chains and the plans the
 * statistics give. Autovacuum runs on a timer (its naptime), so a slower window (a loaded
 * machine) runs more of its tasks after an autovacuum/autoanalyze than a fast one and reads a
 * different number of blocks per task. pgbench does the same: VACUUM before each run. A server
 * the suite did not create is never touched (bench-work.ts decides).
 */
import type pg from 'pg'
import { connectPg } from '../../db/connect.ts'
import { withDatabase } from '../../db/database-url.ts'
import type { PgLimits } from '../../db/limits.ts'

export const QUIET_TABLES = 'autovacuum paused while the file measures, VACUUM (ANALYZE) of the database(s) after the warm-up of every window but the first (the suite’s own server)'

export interface QuietTables {
  /** autovacuum off (once) */
  pause(): Promise<void>
  /** VACUUM (ANALYZE) of every database; resolves when its statistics are flushed */
  vacuum(): Promise<void>
  /** autovacuum back to the server's setting; the sessions closed */
  close(): Promise<void>
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
      s = connectPg(withDatabase(serverUrl, db), 'work per task (vacuum)', limits)
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
    async pause() {
      if (!paused) await setAutovacuum(true)
    },
    async vacuum() {
      for (const db of databases) {
        const c = await session(db)
        await c.query('VACUUM (ANALYZE)')
        // flushed as this session goes idle, before the reply: none of it lands in the window
        await c.query('SELECT pg_stat_force_next_flush()')
      }
    },
    async close() {
      if (paused) await setAutovacuum(false).catch(() => {})
      for (const s of sessions.values()) await (await s.catch(() => undefined))?.end().catch(() => {})
    },
  }
}
