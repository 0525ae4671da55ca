/**
 * Whether a container engine answers here, and which local images exist: for the container tests
 * (which skip engine-dependent cases with a visible reason) and scripts that need to know.
 */
import { spawnSync } from 'node:child_process'

export interface EngineProbe {
  ok: boolean
  /** why not, in one line (shown in the skipped test's name) */
  why: string
}

export function probeEngine(): EngineProbe {
  const r = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8', timeout: 15_000 })
  if (r.error) return { ok: false, why: `docker CLI not runnable (${r.error.message})` }
  if (r.status !== 0) {
    const line = `${r.stderr}`.split('\n').find((l) => l.trim()) ?? `exit ${r.status}`
    return { ok: false, why: `no engine answers: ${line.trim().slice(0, 120)}` }
  }
  return { ok: true, why: '' }
}

export function imageExists(image: string): boolean {
  return spawnSync('docker', ['image', 'inspect', image], { stdio: 'ignore', timeout: 15_000 }).status === 0
}

/** Ids of containers (running or not) carrying a label, e.g. a compose project's. */
export function containersWithLabel(label: string): string[] {
  const r = spawnSync('docker', ['ps', '-aq', '--filter', `label=${label}`], { encoding: 'utf8', timeout: 15_000 })
  return `${r.stdout ?? ''}`.split('\n').filter(Boolean)
}
