/**
 * A throwaway embedded PostgreSQL per test file: `const db = usePostgres()` in a describe block
 * (or at the top of a file) starts one in beforeAll and stops it in afterAll.
 * `db.pool` is ready inside tests; `db.server.url` connects new clients.
 */
import { afterAll, beforeAll } from 'vitest'
import pg from 'pg'
import { startEmbeddedPostgres } from '../../harness/main/postgres/embedded.ts'
import type { StartedPostgres } from '../../harness/main/postgres/types.ts'
import { applyMigrations } from '../../orchestrator/index.ts'

export interface TestPostgres {
  server: StartedPostgres
  pool: pg.Pool
}

export interface UsePostgresOptions {
  /** extra server settings, read in beforeAll (e.g. extension_control_path for the real pgmq) */
  settings?: () => Record<string, string>
}

export function usePostgres(prepare?: (pool: pg.Pool, server: StartedPostgres) => Promise<void>, options: UsePostgresOptions = {}): TestPostgres {
  const handle = {} as TestPostgres
  beforeAll(async () => {
    handle.server = await startEmbeddedPostgres({ binDir: process.env.PG_BIN_DIR || undefined, settings: options.settings?.() })
    handle.pool = new pg.Pool({ connectionString: handle.server.url, max: 10 })
    // pool.end() resolves before idle clients have closed; the server stopping right after makes
    // them emit an error nobody else would handle.
    handle.pool.on('error', () => {})
    await prepare?.(handle.pool, handle.server)
  }, 120_000)
  afterAll(async () => {
    await handle.pool?.end()
    await handle.server?.stop()
  }, 60_000)
  return handle
}

/** For usePostgres(migrateTasker): the reference orchestrator's schema (pgmq and migrations). */
export async function migrateTasker(pool: pg.Pool): Promise<void> {
  const client = await pool.connect()
  try {
    await applyMigrations(client)
  } finally {
    client.release()
  }
}
