/**
 * CPU time by group of processes, from /proc (Linux): who burns the CPU while tasks run.
 * Groups: the suite's Node services (the orchestrator's orchestration and worker processes, the
 * baselines' workers — any process running a .ts entry of this checkout), the PostgreSQL backends
 * by application name (when the server runs on this machine and the role may see them), and the
 * measuring process itself. A process that starts or ends inside the window is not counted.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import path from 'node:path'
import type pg from 'pg'

/** user + system CPU ms of one process; undefined once it has ended (or on a system without /proc). */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100 // USER_HZ is 100 on Linux
  } catch {
    return undefined
  }
}

export interface ProcessGroup {
  group: string
  /** the database a PostgreSQL backend is connected to (to attribute it to one system) */
  database?: string
}

/**
 * Node processes running a TypeScript entry inside `root` (not under node_modules), by the folder
 * of their entry: `node: orchestration`, `node: worker`, `node: floor`, `node: peer`.
 */
export function nodeServices(root: string): Map<number, ProcessGroup> {
  const found = new Map<number, ProcessGroup>()
  const prefix = root.endsWith(path.sep) ? root : root + path.sep
  let pids: number[]
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number)
  } catch {
    return found
  }
  for (const pid of pids) {
    if (pid === process.pid) continue
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
      if (!/node$/.test(path.basename(args[0] ?? ''))) continue
      // the script: the first argument that is not an option
      const script = args.slice(1).find((a) => !a.startsWith('-'))
      if (!script) continue
      const full = path.resolve(readlinkSync(`/proc/${pid}/cwd`), script)
      if (!full.startsWith(prefix)) continue
      if (full.startsWith(`${prefix}node_modules${path.sep}`)) {
        // Vitest's main process (the suite's reporters and trace receiver); its idle workers are not
        if (/vitest/.test(full) && !/workers/.test(full)) found.set(pid, { group: 'node: vitest main (reporters, trace receiver)' })
        continue
      }
      if (full.endsWith('.ts')) found.set(pid, { group: `node: ${path.basename(path.dirname(full))}` })
    } catch {
      // ended meanwhile, or not ours to read
    }
  }
  return found
}

/**
 * The server's processes by application name (client backends) or backend type, when they run on
 * this machine: a pid whose /proc entry is not a postgres process belongs to another host or a
 * container's pid namespace and is left out. The session of `client` itself is left out.
 */
export async function postgresBackends(client: pg.Client): Promise<Map<number, ProcessGroup>> {
  const { rows } = await client.query<{ pid: number; name: string; datname: string | null }>(
    `SELECT pid, datname, CASE WHEN backend_type = 'client backend' THEN coalesce(nullif(application_name, ''), 'unnamed client') ELSE backend_type END AS name
     FROM pg_stat_activity WHERE pid <> pg_backend_pid()`,
  )
  const found = new Map<number, ProcessGroup>()
  for (const r of rows) {
    try {
      if (readFileSync(`/proc/${r.pid}/comm`, 'utf8').trim() !== 'postgres') continue
    } catch {
      continue
    }
    found.set(r.pid, { group: `postgres: ${r.name}`, ...(r.datname ? { database: r.datname } : {}) })
  }
  return found
}

export interface CpuSnapshot {
  groups: Map<number, ProcessGroup>
  perPid: Map<number, number>
  self: NodeJS.CpuUsage
}

export function cpuSnapshot(groups: Map<number, ProcessGroup>): CpuSnapshot {
  const perPid = new Map<number, number>()
  for (const pid of groups.keys()) {
    const ms = processCpuMs(pid)
    if (ms !== undefined) perPid.set(pid, ms)
  }
  return { groups, perPid, self: process.cpuUsage() }
}

export interface GroupCpu {
  ms: number
  processes: number
  /** databases of the group's backends */
  databases: string[]
}

/** CPU ms per group since `before`; this process under `selfName`. */
export function cpuSince(before: CpuSnapshot, selfName: string): Map<string, GroupCpu> {
  const out = new Map<string, GroupCpu>()
  for (const [pid, ms0] of before.perPid) {
    const ms = processCpuMs(pid)
    if (ms === undefined) continue
    const { group, database } = before.groups.get(pid)!
    const g = out.get(group) ?? { ms: 0, processes: 0, databases: [] }
    g.ms += ms - ms0
    g.processes++
    if (database && !g.databases.includes(database)) g.databases.push(database)
    out.set(group, g)
  }
  const self = process.cpuUsage(before.self)
  out.set(selfName, { ms: (self.user + self.system) / 1000, processes: 1, databases: [] })
  return out
}
