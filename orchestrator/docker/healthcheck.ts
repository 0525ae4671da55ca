/**
 * Health check of one orchestration container (docker-compose.yml). Replicas scaled with
 * `--scale orchestration=N` share the host's network and one port (TASKER_REUSE_PORT), so
 * `GET /health` on that port may be answered by another replica. Healthy therefore means both:
 *   - a process of this container listens on TASKER_PORT (the service opens its port last, after
 *     migrations, templates and its pool: listening means this replica is ready), and
 *   - the port answers GET /health.
 * The first is read from /proc: the listening sockets on the port (/proc/net/tcp*, the host's,
 * since the network is the host's) that one of this container's processes holds.
 * Exit 0 = healthy, 1 = not (with one line saying why).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'

const port = Number(process.env.TASKER_PORT || 8080)
const LISTEN = '0A'

function listeningInodes(): Set<string> {
  const inodes = new Set<string>()
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = ''
    try {
      text = readFileSync(table, 'utf8')
    } catch {
      continue // no IPv6
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const fields = line.trim().split(/\s+/)
      if (fields.length < 10 || fields[3] !== LISTEN) continue
      if (parseInt(fields[1]!.split(':').pop()!, 16) === port) inodes.add(fields[9]!)
    }
  }
  return inodes
}

/** Whether a process of this container (its own PID namespace: /proc lists only them) holds one of `inodes`. */
function heldHere(inodes: Set<string>): boolean {
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    let fds: string[]
    try {
      fds = readdirSync(`/proc/${pid}/fd`)
    } catch {
      continue // gone, or not ours to read
    }
    for (const fd of fds) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`)
        if (target.startsWith('socket:[') && inodes.has(target.slice(8, -1))) return true
      } catch {
        /* closed meanwhile */
      }
    }
  }
  return false
}

function unhealthy(why: string): never {
  console.error(`healthcheck: ${why}`)
  process.exit(1)
}

if (!heldHere(listeningInodes())) unhealthy(`no process of this container listens on port ${port} yet`)
const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(4000) }).catch((err: Error) => unhealthy(`GET /health: ${err.message}`))
if (!res.ok) unhealthy(`GET /health answered ${res.status}`)
