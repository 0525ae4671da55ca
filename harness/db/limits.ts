/**
 * Time limits on every PostgreSQL connection the suite opens, from the settings: statement_timeout
 * and lock_timeout (server side), a connect timeout, and a client-side read timeout for a server
 * that stops answering. A statement blocked on a lock, a runaway statement or a silent server
 * becomes an error that says what it waited for, for how long, and which setting to change —
 * never a run that hangs.
 *
 * Connections are opened only through harness/db/connect.ts, which applies these limits;
 * applyPgDefaults() records the run's limits for this process (and sets node-postgres' defaults
 * for a connection a library opens itself). Set-up work that legitimately runs long (seeding 100K
 * tasks) takes its own, larger limit: pgLimits(settings, 'setup').
 */
import pg from 'pg'
import { VARIABLES, type Settings } from '../config/settings.ts'

export interface PgLimits {
  statementTimeoutMs: number
  lockTimeoutMs: number
  connectTimeoutMs: number
  /** the setting that sets statementTimeoutMs, named in errors */
  statementVariable: 'BENCH_STATEMENT_TIMEOUT_MS' | 'BENCH_SETUP_STATEMENT_TIMEOUT_MS'
  /** how much longer than statementTimeoutMs the client waits for an answer (default 30 s; the tests shorten it) */
  readGraceMs?: number
}

type LimitSettings = Pick<Settings, 'BENCH_STATEMENT_TIMEOUT_MS' | 'BENCH_LOCK_TIMEOUT_MS' | 'BENCH_CONNECT_TIMEOUT_MS' | 'BENCH_SETUP_STATEMENT_TIMEOUT_MS'>

/** The client waits this much longer than the server's own statement_timeout before giving up on it. */
const READ_GRACE_MS = 30_000
const readGrace = (limits: PgLimits) => limits.readGraceMs ?? READ_GRACE_MS

export function pgLimits(settings: LimitSettings, kind: 'bench' | 'setup' = 'bench'): PgLimits {
  return kind === 'setup'
    ? { statementTimeoutMs: settings.BENCH_SETUP_STATEMENT_TIMEOUT_MS, lockTimeoutMs: settings.BENCH_LOCK_TIMEOUT_MS, connectTimeoutMs: settings.BENCH_CONNECT_TIMEOUT_MS, statementVariable: 'BENCH_SETUP_STATEMENT_TIMEOUT_MS' }
    : { statementTimeoutMs: settings.BENCH_STATEMENT_TIMEOUT_MS, lockTimeoutMs: settings.BENCH_LOCK_TIMEOUT_MS, connectTimeoutMs: settings.BENCH_CONNECT_TIMEOUT_MS, statementVariable: 'BENCH_STATEMENT_TIMEOUT_MS' }
}

/** The node-postgres settings for these limits (for a pg.Client or pg.Pool config). */
export function pgLimitConfig(limits: PgLimits): Pick<pg.ClientConfig, 'statement_timeout' | 'lock_timeout' | 'query_timeout' | 'connectionTimeoutMillis'> {
  return {
    statement_timeout: limits.statementTimeoutMs,
    lock_timeout: limits.lockTimeoutMs,
    query_timeout: limits.statementTimeoutMs + readGrace(limits),
    connectionTimeoutMillis: limits.connectTimeoutMs,
  }
}

/** A process that applied none (a script, a test): the settings' defaults for set-up work. */
const UNAPPLIED: PgLimits = {
  statementTimeoutMs: VARIABLES.BENCH_SETUP_STATEMENT_TIMEOUT_MS.default,
  lockTimeoutMs: VARIABLES.BENCH_LOCK_TIMEOUT_MS.default,
  connectTimeoutMs: VARIABLES.BENCH_CONNECT_TIMEOUT_MS.default,
  statementVariable: 'BENCH_SETUP_STATEMENT_TIMEOUT_MS',
}
let applied: PgLimits | undefined

/**
 * Process-wide defaults: every connection opened afterwards that does not set its own gets
 * statement_timeout and lock_timeout (the connect timeout is per connection in node-postgres;
 * connect.ts takes all of them from processPgLimits() unless given other limits).
 */
export function applyPgDefaults(limits: PgLimits): void {
  pg.defaults.statement_timeout = limits.statementTimeoutMs
  pg.defaults.lock_timeout = limits.lockTimeoutMs
  applied = limits
}

/** The limits applyPgDefaults() set in this process, else the settings' defaults for set-up work. */
export function processPgLimits(): PgLimits {
  return applied ?? UNAPPLIED
}

/** host:port of a connection string, for messages (never the password). */
function endpoint(url: string): string {
  try {
    const u = new URL(url)
    return `${u.hostname}:${u.port || 5432}${u.pathname}`
  } catch {
    return 'the database'
  }
}

export class PgTimeoutError extends Error {
  override name = 'PgTimeoutError'
  readonly code: string | undefined
  constructor(message: string, cause: Error & { code?: string }) {
    super(message, { cause })
    this.code = cause.code
  }
}

/**
 * The same error with a message naming what was waited for, when it is a time limit; any other
 * error unchanged.
 */
export function explainPgError(err: unknown, context: { purpose: string; statement?: string; limits: PgLimits; url?: string }): unknown {
  if (!(err instanceof Error)) return err
  const e = err as Error & { code?: string; where?: string }
  const { purpose, limits } = context
  const statement = context.statement ? `; statement: ${context.statement}` : ''
  const at = context.url ? ` at ${endpoint(context.url)}` : ''
  if (e.code === '55P03' && /lock timeout/i.test(e.message)) {
    const what = e.where ? ` (${e.where.split('\n')[0]})` : ''
    return new PgTimeoutError(
      `${purpose}: waited more than ${limits.lockTimeoutMs} ms for a lock${what}${at} held by another session, and gave up (lock_timeout, BENCH_LOCK_TIMEOUT_MS)${statement}. ` +
        `Find the holder in pg_locks / pg_stat_activity.`,
      e,
    )
  }
  if (e.code === '57014' && /statement timeout/i.test(e.message)) {
    return new PgTimeoutError(
      `${purpose}: a statement ran longer than ${limits.statementTimeoutMs} ms${at} and was cancelled (statement_timeout, ${limits.statementVariable})${statement}`,
      e,
    )
  }
  if (/Query read timeout/.test(e.message)) {
    return new PgTimeoutError(
      `${purpose}: PostgreSQL${at} sent no answer within ${limits.statementTimeoutMs + readGrace(limits)} ms (${limits.statementVariable} + ${readGrace(limits) / 1000} s)${statement}`,
      e,
    )
  }
  if (/connection timeout|timeout expired/i.test(e.message)) {
    return new PgTimeoutError(`${purpose}: could not connect to PostgreSQL${at} within ${limits.connectTimeoutMs} ms (BENCH_CONNECT_TIMEOUT_MS)`, e)
  }
  return err
}
