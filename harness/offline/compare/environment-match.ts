/**
 * Whether two runs were measured on comparable set-ups. A regression check across different
 * hardware, Node or PostgreSQL measures the difference between those, not the change under test.
 * The commit, timestamp and memory reading are expected to differ and are not compared.
 */
import type { EnvironmentFingerprint } from '../../results/environment.ts'

export interface EnvironmentDifference {
  field: string
  baseline: string
  current: string
}

const FIELDS: ReadonlyArray<[string, (e: EnvironmentFingerprint) => unknown]> = [
  ['node', (e) => e.node],
  ['platform', (e) => e.platform],
  ['arch', (e) => e.arch],
  ['cpuModel', (e) => e.cpuModel],
  ['cpuCount', (e) => e.cpuCount],
  ['profile', (e) => e.profile],
  ['postgres.mode', (e) => e.postgres?.mode],
  ['postgres.version', (e) => e.postgres?.version],
  ['pgmq.kind', (e) => e.pgmq?.kind],
  ['pgmq.version', (e) => e.pgmq?.version],
  ['orchestrator.mode', (e) => e.orchestrator?.mode],
  ['orchestrator.workers', (e) => e.orchestrator?.workers],
]

export const COMPARED_ENVIRONMENT_FIELDS: readonly string[] = FIELDS.map(([name]) => name)

export function environmentDifferences(baseline: EnvironmentFingerprint, current: EnvironmentFingerprint): EnvironmentDifference[] {
  const differences: EnvironmentDifference[] = []
  for (const [field, read] of FIELDS) {
    const a = show(read(baseline))
    const b = show(read(current))
    if (a !== b) differences.push({ field, baseline: a, current: b })
  }
  return differences
}

const show = (value: unknown): string => (value === undefined || value === null ? 'none' : String(value))
