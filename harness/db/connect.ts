/**
 * The one way into PostgreSQL: every client and pool of the harness and the bench files is made
 * here (test/one-way-into-postgres.test.ts keeps it so), so every one carries the suite's limits —
 * statement_timeout, lock_timeout, a connect timeout and a client-side read timeout (limits.ts) —
 * and an application_name that says what it is for in pg_stat_activity. The limits are the
 * process's (processPgLimits()) unless a caller passes others; the caller cannot leave them out.
 *
 * An error on an idle connection (the server stopped, a backend was terminated) is not thrown into
 * the process: the next query fails instead, with a message naming the purpose.
 */
import pg from 'pg'
import { explainPgError, pgLimitConfig, processPgLimits, type PgLimits } from './limits.ts'

/** What a caller may set: everything but the connection string, the limits and the name. */
type Fixed = 'connectionString' | 'statement_timeout' | 'lock_timeout' | 'query_timeout' | 'connectionTimeoutMillis' | 'application_name'
export type ClientOptions = Omit<pg.ClientConfig, Fixed>
export type PoolOptions = Omit<pg.PoolConfig, Fixed>

/** application_name is at most 63 bytes (NAMEDATALEN); longer is cut by the server anyway. */
function applicationName(purpose: string): string {
  return `tasker-bench ${purpose}`.slice(0, 63)
}

function statementText(arg: unknown): string {
  const text = typeof arg === 'string' ? arg : typeof arg === 'object' && arg !== null ? String((arg as { text?: unknown }).text ?? '') : ''
  const oneLine = text.replace(/\s+/g, ' ').trim()
  return oneLine.length > 120 ? `${oneLine.slice(0, 117)}…` : oneLine
}

/** Failed queries of `target` name `purpose`, and the statement when a limit ran out. */
function explainQueries<T extends { query: unknown }>(target: T, url: string, purpose: string, limits: PgLimits): T {
  const query = (target.query as (...args: unknown[]) => unknown).bind(target)
  target.query = ((...args: unknown[]) => {
    const result = query(...args)
    if (!(result instanceof Promise)) return result
    return result.catch((err: unknown) => {
      throw explainPgError(err, { purpose, statement: statementText(args[0]), limits, url })
    })
  }) as T['query']
  return target
}

/**
 * A client with the limits, not yet connected: for a caller that wires events (a LISTEN
 * connection's `notification`) before connecting. connectPg() is the usual way.
 */
export function newClient(url: string, purpose: string, limits: PgLimits = processPgLimits(), options: ClientOptions = {}): pg.Client {
  const client = new pg.Client({ ...options, connectionString: url, application_name: applicationName(purpose), ...pgLimitConfig(limits) })
  client.on('error', () => {})
  return explainQueries(client, url, purpose, limits)
}

/** A connected client with the limits; a failed connect names `purpose` and what was waited for. */
export async function connectPg(url: string, purpose: string, limits: PgLimits = processPgLimits(), options: ClientOptions = {}): Promise<pg.Client> {
  const client = newClient(url, purpose, limits, options)
  try {
    await client.connect()
  } catch (err) {
    await client.end().catch(() => {})
    throw explainPgError(err, { purpose, limits, url })
  }
  return client
}

/** A pool whose every connection has the limits; pool.query's failures name `purpose`. */
export function openPool(url: string, purpose: string, limits: PgLimits = processPgLimits(), options: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({ ...options, connectionString: url, application_name: applicationName(purpose), ...pgLimitConfig(limits) })
  // A connection lost while idle is emitted on the pool, one lost while checked out on its client:
  // either way the query in flight fails with the reason, and an unheard 'error' event must not
  // end the process (graphile-worker, which the peer gives this pool, checks for both).
  pool.on('error', () => {})
  pool.on('connect', (client) => client.on('error', () => {}))
  return explainQueries(pool, url, purpose, limits)
}
