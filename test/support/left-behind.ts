/**
 * What a run left behind, seen the way a user would see it after Ctrl-C or a failed run:
 * processes that still belong to it, ports it opened that still listen, files in its temp
 * directory. Read from /proc (Linux), so it sees processes in any process group — the embedded
 * PostgreSQL runs detached in its own — and sockets of any process.
 *
 * A process belongs to the run when its command line names one of the run's directories (the
 * postmaster's `-D <tmp>/tasker-bench-pg-…/data`), its working directory lies in one (PostgreSQL
 * and its backends run in the data directory), or it inherited the run's private TMPDIR (every
 * child of the run: orchestrator, workers, bench forks, initdb, postgres).
 *
 * Scratch databases (`tasker_bench_sql_*`) are not looked for separately: with an embedded server
 * they live in its data directory, which is covered by the process and temp-directory checks.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs'

export interface RunMarks {
  /** the run's private TMPDIR (see privateTmpDir) */
  tmpDir: string
  /** further directories only this run uses (its results directory) */
  dirs?: string[]
}

export interface LeftBehind {
  processes: string[]
  ports: string[]
  tempFiles: string[]
}

/** `pid command line` of every live process that belongs to the run. */
export function processesOfRun(marks: RunMarks): string[] {
  const dirs = [marks.tmpDir, ...(marks.dirs ?? [])]
  const found: string[] = []
  for (const pid of pids()) {
    if (pid === process.pid) continue
    const state = read(`/proc/${pid}/stat`)?.replace(/^.*\)\s+/, '')[0]
    // A zombie is already dead; whether PID 1 reaps orphans depends on the machine.
    if (state === undefined || state === 'Z') continue
    const cmdline = commandLine(pid)
    const cwd = link(`/proc/${pid}/cwd`)
    const environ = (read(`/proc/${pid}/environ`) ?? '').split('\0')
    const ours =
      dirs.some((d) => cmdline.includes(d) || cwd === d || cwd?.startsWith(`${d}/`)) || environ.includes(`TMPDIR=${marks.tmpDir}`)
    if (ours) found.push(`${pid} ${cmdline || `[${read(`/proc/${pid}/comm`)?.trim()}]`}${cwd ? ` (cwd ${cwd})` : ''}`)
  }
  return found
}

/** The run's postmaster: the process started as `postgres -D <the run's data directory>`. */
export function postmasterOfRun(marks: RunMarks): number | undefined {
  for (const p of processesOfRun(marks)) {
    const [pid, exe, flag] = p.split(' ')
    if (exe?.endsWith('/postgres') && flag === '-D') return Number(pid)
  }
  return undefined
}

/** TCP ports in LISTEN state (IPv4 and IPv6), with the inode of each listening socket. */
export function listeningSockets(): { port: number; inode: string }[] {
  const sockets: { port: number; inode: string }[] = []
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of (read(file) ?? '').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      if (f.length < 10 || f[3] !== '0A') continue
      sockets.push({ port: parseInt(f[1]!.split(':').at(-1)!, 16), inode: f[9]! })
    }
  }
  return sockets
}

/** The ports on which processes of the run listen right now. */
export function portsOfRun(marks: RunMarks): number[] {
  const runPids = processesOfRun(marks).map((p) => Number(p.split(' ')[0]))
  const inodes = new Set<string>()
  for (const pid of runPids) {
    for (const fd of list(`/proc/${pid}/fd`)) {
      const m = link(`/proc/${pid}/fd/${fd}`)?.match(/^socket:\[(\d+)\]$/)
      if (m) inodes.add(m[1]!)
    }
  }
  return [...new Set(listeningSockets().filter((s) => inodes.has(s.inode)).map((s) => s.port))]
}

/** Loopback ports named in a run's output (`127.0.0.1:5432`, `localhost:8080`). */
export function portsInOutput(output: string): number[] {
  return [...new Set([...output.matchAll(/(?:127\.0\.0\.1|localhost|\[::1\]):(\d{2,5})\b/g)].map((m) => Number(m[1])))]
}

/**
 * Which of `ports` still listen, each with the process holding it. A port held by a process
 * that is not the run's was let go by the run and taken by someone else (the OS hands ports out
 * again); a port whose holder cannot be told (another user's process) counts as left behind.
 */
export function stillListening(ports: Iterable<number>, marks: RunMarks): string[] {
  const wanted = new Set(ports)
  const open = listeningSockets().filter((s) => wanted.has(s.port))
  if (open.length === 0) return []
  const holders = new Map<string, number>()
  for (const pid of pids()) {
    for (const fd of list(`/proc/${pid}/fd`)) {
      const m = link(`/proc/${pid}/fd/${fd}`)?.match(/^socket:\[(\d+)\]$/)
      if (m && open.some((s) => s.inode === m[1])) holders.set(m[1]!, pid)
    }
  }
  const ours = new Set(processesOfRun(marks).map((p) => Number(p.split(' ')[0])))
  const left = new Set<string>()
  for (const s of open) {
    const pid = holders.get(s.inode)
    if (pid !== undefined && !ours.has(pid)) continue
    left.add(`port ${s.port} ${pid === undefined ? 'held by a process this user cannot see' : `held by ${pid} ${commandLine(pid)}`}`)
  }
  return [...left]
}

/** Everything the run left behind (but the temp files it `keeps` on purpose); empty lists when
 *  it left nothing. */
export function leftBehind(marks: RunMarks, ports: Iterable<number>, keeps?: RegExp): LeftBehind {
  return {
    processes: processesOfRun(marks),
    ports: stillListening(ports, marks),
    tempFiles: (existsSync(marks.tmpDir) ? readdirSync(marks.tmpDir) : []).filter((f) => !keeps?.test(f)),
  }
}

/**
 * Polls until the run has left nothing behind or `withinMs` passed, and returns what is left at
 * the end. Children notice their launcher's death on their own time (an IPC channel closing), so
 * a moment's grace is what a user sees too; a leak stays for good and shows after the deadline.
 */
export async function waitUntilNothingLeft(marks: RunMarks, ports: Iterable<number>, options: { keeps?: RegExp; withinMs?: number } = {}): Promise<LeftBehind> {
  const portList = [...ports]
  const deadline = performance.now() + (options.withinMs ?? 15_000)
  for (;;) {
    const left = leftBehind(marks, portList, options.keeps)
    const empty = left.processes.length === 0 && left.ports.length === 0 && left.tempFiles.length === 0
    if (empty || performance.now() > deadline) return left
    await new Promise((r) => setTimeout(r, 250))
  }
}

/** After the checks, whatever their verdict: kill what is left of the run and remove its
 *  directories, so a failing test does not leave its leak on the machine. */
export function removeLeftovers(marks: RunMarks): void {
  for (const p of processesOfRun(marks)) {
    try {
      process.kill(Number(p.split(' ')[0]), 'SIGKILL')
    } catch {
      /* gone meanwhile */
    }
  }
  for (const dir of [marks.tmpDir, ...(marks.dirs ?? [])]) rmSync(dir, { recursive: true, force: true, maxRetries: 3 })
}

function commandLine(pid: number): string {
  return (read(`/proc/${pid}/cmdline`) ?? '').replaceAll('\0', ' ').trim()
}

function pids(): number[] {
  return list('/proc').filter((n) => /^\d+$/.test(n)).map(Number)
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return undefined // gone meanwhile, or not ours to read
  }
}

function link(file: string): string | undefined {
  try {
    return readlinkSync(file)
  } catch {
    return undefined
  }
}
