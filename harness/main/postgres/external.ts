/** External mode: a server the user runs, named by DATABASE_URL. Never prints the password. */
import pg from 'pg'
import { redactUrl } from '../../config/settings.ts'
import type { StartedPostgres } from './types.ts'

const CONNECT_TIMEOUT_MS = 10_000

export async function connectExternalPostgres(url: string, variable = 'DATABASE_URL'): Promise<StartedPostgres> {
  const { hostname, port } = new URL(url)
  const where = `${hostname}:${port || 5432}`
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS })
  try {
    await client.connect()
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version')
    return {
      mode: 'external',
      url,
      host: hostname,
      port: Number(port || 5432),
      serverVersion: rows[0]!.server_version,
      owned: false,
      async stop() {},
    }
  } catch (err) {
    const reason = (err as Error).message || String(err)
    throw new Error(
      `cannot reach PostgreSQL at ${where} (${variable}=${redactUrl(url)}): ${reason}. ` +
        `Check that the server runs and accepts connections, or unset ${variable} to use the embedded server.`,
    )
  } finally {
    await client.end().catch(() => {})
  }
}
