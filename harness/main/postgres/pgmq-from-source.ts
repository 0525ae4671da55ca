/**
 * The real pgmq extension for a server the run starts, installed from a local pgmq checkout
 * (PGMQ_SOURCE_DIR) without touching the server's own share directory: PostgreSQL 18's
 * extension_control_path names extra base directories, each searched in its `extension`
 * subdirectory for <name>.control, and the script files are read from the directory where the
 * control file was found. So a private directory <tmp>/extension/ with pgmq.control and
 * pgmq--<default_version>.sql, plus `extension_control_path = '<tmp>:$system'`, makes
 * `CREATE EXTENSION pgmq` install the checkout's SQL (pgmq 1.5's extension is SQL only; its
 * module_pathname names no function). Servers before 18 reject the setting at start.
 *
 * The directory is registered with the run's cleanup, so Ctrl-C removes it too.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { onCleanup } from '../cleanup.ts'

export interface PgmqFromSource {
  /** the extension's default_version from the checkout's pgmq.control, e.g. "1.5.1" */
  version: string
  /** server settings for startEmbeddedPostgres({ settings }) */
  settings: Record<string, string>
  /** the base directory (its extension/ holds the control and script files) */
  dir: string
  /** removes the directory; idempotent */
  remove(): void
}

/**
 * Prepares the extension directory from a pgmq checkout: the repository root (with
 * pgmq-extension/) or its pgmq-extension directory. Throws one line naming what is missing.
 */
export function preparePgmqFromSource(checkout: string): PgmqFromSource {
  const root = path.resolve(checkout)
  const extensionDir = [path.join(root, 'pgmq-extension'), root].find((d) => existsSync(path.join(d, 'pgmq.control')))
  if (!extensionDir) {
    throw new Error(`PGMQ_SOURCE_DIR=${checkout}: no pgmq.control there or in its pgmq-extension/; expected a pgmq checkout (git clone https://github.com/pgmq/pgmq, e.g. at tag v1.5.1)`)
  }
  const controlFile = path.join(extensionDir, 'pgmq.control')
  const scriptFile = path.join(extensionDir, 'sql', 'pgmq.sql')
  if (!existsSync(scriptFile)) throw new Error(`PGMQ_SOURCE_DIR=${checkout}: ${scriptFile} is missing; the checkout is incomplete`)
  const version = /^\s*default_version\s*=\s*'([^']+)'/m.exec(readFileSync(controlFile, 'utf8'))?.[1]
  if (!version) throw new Error(`${controlFile} has no default_version = '<version>' line`)

  const dir = mkdtempSync(path.join(os.tmpdir(), 'tasker-bench-pgmq-ext-'))
  const remove = () => rmSync(dir, { recursive: true, force: true })
  const unregister = onCleanup(`pgmq extension directory ${dir}`, remove, remove)
  try {
    const target = path.join(dir, 'extension')
    mkdirSync(target)
    copyFileSync(controlFile, path.join(target, 'pgmq.control'))
    copyFileSync(scriptFile, path.join(target, `pgmq--${version}.sql`))
    // The server may run as another user (postgres, when the suite runs as root).
    for (const d of [dir, target]) chmodSync(d, 0o755)
    for (const f of ['pgmq.control', `pgmq--${version}.sql`]) chmodSync(path.join(target, f), 0o644)
  } catch (err) {
    remove()
    unregister()
    throw err
  }
  return {
    version,
    dir,
    settings: { extension_control_path: `${dir}:$system` },
    remove() {
      remove()
      unregister()
    },
  }
}
