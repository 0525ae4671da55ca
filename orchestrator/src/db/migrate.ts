/**
 * Brings a database to the reference orchestrator's schema: pgmq (extension or the project's
 * compatible SQL), then every orchestrator/migrations/*.sql in name order, each in its
 * own transaction and recorded in tasker.schema_migrations with its checksum.
 *
 * Safe when several processes start at once (a session advisory lock serialises them) and on
 * every start: a file already applied with the same checksum is skipped; a file whose checksum
 * changed is applied again — the files are idempotent by design — and that is logged.
 */
import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type pg from 'pg'
import { installPgmq } from '../../pgmq/install.ts'

/** Absolute path of the directory holding the migration files. */
export const migrationsDir = fileURLToPath(new URL('../../migrations/', import.meta.url))

export interface MigrateOptions {
  /** Called with one line per action (applied, re-applied, waited for the lock, pgmq). */
  log?: (line: string) => void
}

export interface MigrateResult {
  /** Files applied by this call (new or changed), in the order applied. */
  applied: string[]
  pgmq: { kind: string; version: string }
}

/** Any fixed key, shared by every process that migrates; spells "tskr" in ASCII. */
const MIGRATION_LOCK_KEY = 0x74736b72

const TRY_LOCK = 'SELECT pg_try_advisory_lock($1) AS locked'
const LOCK = 'SELECT pg_advisory_lock($1)'
const UNLOCK = 'SELECT pg_advisory_unlock($1)'

const CREATE_LEDGER = `
  CREATE SCHEMA IF NOT EXISTS tasker;
  CREATE TABLE IF NOT EXISTS tasker.schema_migrations (
    name       text PRIMARY KEY,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`

const READ_LEDGER = 'SELECT name, checksum FROM tasker.schema_migrations'

const RECORD = `
  INSERT INTO tasker.schema_migrations (name, checksum, applied_at) VALUES ($1, $2, now())
  ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum, applied_at = EXCLUDED.applied_at`

interface MigrationFile {
  name: string
  sql: string
  checksum: string
}

/**
 * Applies pgmq and the pending migrations. The client must not be inside a transaction (each
 * file gets its own). Throws, naming the file and line, when a migration fails; that file's
 * transaction is rolled back and later files are not attempted.
 */
export async function applyMigrations(client: pg.ClientBase, options: MigrateOptions = {}): Promise<MigrateResult> {
  const log = options.log ?? (() => {})
  const files = await readMigrationFiles()

  const { rows } = await client.query<{ locked: boolean }>(TRY_LOCK, [MIGRATION_LOCK_KEY])
  if (!rows[0]!.locked) {
    log('migrations: another process is migrating this database; waiting for it to finish')
    await client.query(LOCK, [MIGRATION_LOCK_KEY])
  }
  try {
    const pgmq = await installPgmq(client)
    log(`migrations: pgmq ${pgmq.kind} ${pgmq.version}`)

    await client.query(CREATE_LEDGER)
    const ledger = await client.query<{ name: string; checksum: string }>(READ_LEDGER)
    const recorded = new Map(ledger.rows.map((r) => [r.name, r.checksum]))

    const applied: string[] = []
    for (const file of files) {
      const previous = recorded.get(file.name)
      if (previous === file.checksum) continue
      if (previous !== undefined) {
        log(`migrations: ${file.name} changed since it was applied (checksum ${short(previous)} → ${short(file.checksum)}); applying it again`)
      }
      const t0 = performance.now()
      await applyOne(client, file)
      log(`migrations: applied ${file.name} (${(performance.now() - t0).toFixed(0)} ms)`)
      applied.push(file.name)
    }
    return { applied, pgmq }
  } finally {
    await client.query(UNLOCK, [MIGRATION_LOCK_KEY]).catch(() => {})
  }
}

async function readMigrationFiles(): Promise<MigrationFile[]> {
  let names: string[]
  try {
    names = (await readdir(migrationsDir)).filter((n) => n.endsWith('.sql')).sort()
  } catch (err) {
    throw new Error(`cannot read the migrations directory ${migrationsDir}: ${(err as Error).message}`, { cause: err })
  }
  if (names.length === 0) throw new Error(`no *.sql files in ${migrationsDir}: the checkout is incomplete`)
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(path.join(migrationsDir, name), 'utf8')
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') }
    }),
  )
}

async function applyOne(client: pg.ClientBase, file: MigrationFile): Promise<void> {
  await client.query('BEGIN')
  try {
    // Re-applying idempotent DDL raises "already exists, skipping" notices: noise here.
    await client.query('SET LOCAL client_min_messages = warning')
    await client.query(file.sql)
    await client.query(RECORD, [file.name, file.checksum])
    await client.query('COMMIT')
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {})
    const e = err as Error & { position?: string; where?: string }
    const line = e.position ? `, line ${lineOf(file.sql, Number(e.position))}` : ''
    const where = e.where ? ` (${e.where.split('\n')[0]})` : ''
    throw new Error(
      `migration ${path.join(migrationsDir, file.name)}${line} failed: ${e.message}${where}. ` +
        'Nothing of that file was applied; fix the file (or the database) and start again.',
      { cause: err },
    )
  }
}

/** 1-based line of a 1-based character position, as PostgreSQL reports error positions. */
function lineOf(text: string, position: number): number {
  return text.slice(0, Math.max(0, position - 1)).split('\n').length
}

function short(checksum: string): string {
  return checksum.slice(0, 12)
}
