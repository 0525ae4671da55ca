/**
 * One short-lived connection for a few statements, always closed. Bounded like every session of
 * the suite: connect, statement and lock timeouts and a client-side read timeout
 * (processPgLimits()), and an error that names `purpose` and what was waited for when one runs out.
 */
import type pg from 'pg'
import { connectPg } from './connect.ts'
import { processPgLimits } from './limits.ts'

export interface SessionOptions {
  /** what the session is for, named in its errors */
  purpose?: string
  /**
   * 'catalog': names resolve in pg_catalog only, for the suite's own statements in a database the
   * run did not create or on its server (useCatalogSearchPath). Default: the database’s own.
   */
  searchPath?: 'catalog'
}

export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>, options: SessionOptions = {}): Promise<T> {
  const client = await connectPg(url, options.purpose ?? 'a PostgreSQL session of the suite', processPgLimits())
  try {
    if (options.searchPath === 'catalog') await useCatalogSearchPath(client)
    return await fn(client)
  } finally {
    await client.end().catch(() => {})
  }
}

/**
 * From here on the session resolves unqualified names in pg_catalog only: no function or operator
 * a deployment defined (a `public.format(text, text)`, the search_path attack of CVE-2018-1058)
 * can be picked instead of the built-in and run as the bench role. Set by a statement rather than
 * a connection option, which a URL's own `options` parameter would override. pg_temp is this
 * session's own.
 */
export async function useCatalogSearchPath(client: pg.ClientBase): Promise<void> {
  await client.query('SET search_path = pg_catalog')
}
