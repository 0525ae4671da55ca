/**
 * The load engine (Artillery) is installed on first use, not by the project's `npm ci`: it is some
 * 450 MB in ~300 packages, far past the 20 s the default install may grow by. Its package.json and
 * lockfile (exact versions, sha512 of every package) live next to this module; the first
 * `npm run load:distributed` copies them to `.cache/load-engine/` and runs `npm ci` there, from the
 * npm registry npm is configured with, install scripts off (Artillery's HTTP engine needs none).
 * Later runs reuse it while the lockfile is unchanged.
 */
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'

const PINNED = path.join(import.meta.dirname, 'engine')
const MARKER = '.installed-lock-sha256'
const INSTALL_TIMEOUT_MS = 15 * 60_000

export interface LoadEngine {
  dir: string
  version: string
  /** Artillery's CLI entry (run with this process's Node) */
  cli: string
  /** require() as seen from the engine's install, for the sketch library it merges with */
  require: NodeJS.Require
}

export function engineDir(root: string): string {
  return path.join(root, '.cache', 'load-engine')
}

export function ensureLoadEngine(dir: string, log: (line: string) => void): LoadEngine {
  const lock = readFileSync(path.join(PINNED, 'package-lock.json'))
  const digest = createHash('sha256').update(lock).digest('hex')
  const cli = path.join(dir, 'node_modules', 'artillery', 'bin', 'run')
  const installed = existsSync(cli) && existsSync(path.join(dir, MARKER)) && readFileSync(path.join(dir, MARKER), 'utf8').trim() === digest
  if (!installed) {
    log(`installing the load engine (Artillery, pinned in harness/main/load-engine/engine/package-lock.json) into ${dir} — first use only, a minute or more`)
    mkdirSync(dir, { recursive: true })
    copyFileSync(path.join(PINNED, 'package.json'), path.join(dir, 'package.json'))
    copyFileSync(path.join(PINNED, 'package-lock.json'), path.join(dir, 'package-lock.json'))
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
    const result = spawnSync(npm, ['ci', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: dir,
      stdio: ['ignore', 'inherit', 'inherit'],
      // npm 11 turns on Node's module compile cache, kept in the temp directory: leave nothing there
      env: { ...process.env, NODE_DISABLE_COMPILE_CACHE: '1' },
      timeout: INSTALL_TIMEOUT_MS,
    })
    if (result.error || result.status !== 0) {
      const why = result.error ? result.error.message : `exit code ${result.status}`
      throw new Error(`installing the load engine with npm ci in ${dir} failed (${why}): check that npm reaches its registry, or delete ${dir} and try again`)
    }
    if (!existsSync(cli)) throw new Error(`npm ci in ${dir} finished but ${cli} is missing: delete ${dir} and try again`)
    writeFileSync(path.join(dir, MARKER), `${digest}\n`)
  }
  const version = (JSON.parse(readFileSync(path.join(dir, 'node_modules', 'artillery', 'package.json'), 'utf8')) as { version: string }).version
  return { dir, version, cli, require: createRequire(path.join(dir, 'package.json')) }
}
