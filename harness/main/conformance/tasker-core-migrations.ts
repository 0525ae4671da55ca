/**
 * tasker-core's schema, built the way tasker-core builds it: its `migrations/*.sql` (never
 * `migrations/archive/`) applied in file-name order, each in a transaction of its own, as its
 * migration runner does. Needs the pgmq extension on the server (its first migration creates it).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import type pg from 'pg'

/** The migration files of a tasker-core checkout, in the order they run. */
export function taskerCoreMigrations(checkout: string): string[] {
  const dir = path.join(path.resolve(checkout), 'migrations')
  if (!existsSync(dir)) {
    throw new Error(`TASKER_CORE_DIR=${checkout}: no migrations/ directory; expected a tasker-core checkout (git clone https://github.com/tasker-systems/tasker-core)`)
  }
  const files = readdirSync(dir).filter((f) => f.endsWith('.sql')).sort()
  if (files.length === 0) throw new Error(`${dir} holds no .sql migrations`)
  return files.map((f) => path.join(dir, f))
}

export async function applyTaskerCoreMigrations(client: pg.ClientBase, files: string[], log: (line: string) => void = () => {}): Promise<void> {
  for (const file of files) {
    await client.query('BEGIN')
    try {
      await client.query(readFileSync(file, 'utf8'))
      await client.query('COMMIT')
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {})
      throw new Error(`tasker-core migration ${path.basename(file)} failed: ${(err as Error).message}`, { cause: err })
    }
    log(`applied ${path.basename(file)}`)
  }
}
