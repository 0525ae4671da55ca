/** External mode: a server the user runs, named by DATABASE_URL. Never prints the password. */
import { redactUrl } from '../../config/settings.ts'
import { withClient } from '../../db/with-client.ts'
import type { StartedPostgres } from './types.ts'

export async function connectExternalPostgres(url: string, variable = 'DATABASE_URL'): Promise<StartedPostgres> {
  const { hostname, port } = new URL(url)
  const where = `${hostname}:${port || 5432}`
  try {
    // A database the run did not create: the session resolves names in pg_catalog only.
    const serverVersion = await withClient(
      url,
      async (client) => (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version,
      { purpose: `connecting to ${variable}`, searchPath: 'catalog' },
    )
    return {
      mode: 'external',
      url,
      host: hostname,
      port: Number(port || 5432),
      serverVersion,
      owned: false,
      async stop() {},
    }
  } catch (err) {
    const reason = (err as Error).message || String(err)
    throw new Error(
      `cannot reach PostgreSQL at ${where} (${variable}=${redactUrl(url)}): ${reason}. ` +
        `Check that the server runs and accepts connections, or unset ${variable} to use the embedded server.`,
    )
  }
}
