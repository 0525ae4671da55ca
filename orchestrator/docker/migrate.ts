/**
 * `tasker-entrypoint migrate` (and the orchestration container before it starts): makes the
 * database at DATABASE_URL ready — pgmq (the extension if the server has it, else the project's
 * compatible SQL) and the tasker schema — with the same code the suite's global setup uses.
 * Applying is idempotent: migrations already applied are skipped.
 */
import pg from 'pg'
import { applyMigrations } from '../src/db/migrate.ts'

const url = process.env.DATABASE_URL
if (!url) {
  console.error('migrate: DATABASE_URL is not set (expected postgres://user:password@host:port/db)')
  process.exit(1)
}
const client = new pg.Client({ connectionString: url })
try {
  await client.connect()
  const t0 = performance.now()
  const { pgmq, applied } = await applyMigrations(client)
  console.log(`migrate: pgmq ${pgmq.kind} ${pgmq.version}; ${applied.length} migration(s) applied in ${(performance.now() - t0).toFixed(0)} ms`)
} catch (err) {
  console.error(`migrate: ${(err as Error).message}`)
  process.exitCode = 1
} finally {
  await client.end().catch(() => {})
}
