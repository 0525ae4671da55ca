/**
 * Which benches gate a comparison and which only inform. A gating bench fails the check when its
 * headline metric regresses; every other verdict (other metrics, other benches, the phase rows of
 * the trace breakdown) is reported but fails nothing. The headline benches are the figures the
 * project promises: end-to-end latency of the linear and diamond workflows (p50), task creation
 * (p99), the NOTIFY round trip (p95) and the SQL functions on the 100K-task dataset (p50).
 *
 * BENCH_GATE adds gates: `file/bench=metric` entries separated by `;`, where a `*` in the bench
 * name matches anything (e.g. `e2e-latency/e2e tree=p50; step-enqueueing/*=p95`).
 *
 * Comparing two single runs (bench:compare, BENCH_BASELINE), the E2E headline benches are decided by
 * their drift-normalized figures (baselines.bench.ts: E2E / floor of the same run) whenever both
 * runs hold them; without them the raw figure gates at the wide single-run margins.
 */
import { ConfigError } from '../../config/settings.ts'
import type { ResultEntry } from '../../results/schema.ts'
import { COMPARED_METRICS, type ComparedMetric } from './margins.ts'

export interface Gate {
  file: string
  /** bench name; `*` matches any run of characters */
  bench: string
  metric: ComparedMetric
  /**
   * The id of this bench's drift-normalized figure (normalized-statistic.ts). When two single runs
   * both hold it, it gates on its p50 in this bench's place and this bench informs: between runs
   * made at different times the raw figure moves with the machine, the ratio does not.
   */
  normalizedBy?: string
}

export const HEADLINE_GATES: readonly Gate[] = Object.freeze([
  { file: 'e2e-latency', bench: 'e2e linear', metric: 'p50', normalizedBy: 'baselines > efficiency linear e2e/floor' },
  { file: 'e2e-latency', bench: 'e2e diamond', metric: 'p50', normalizedBy: 'baselines > efficiency diamond e2e/floor' },
  { file: 'task-initialization', bench: 'create linear task', metric: 'p99' },
  { file: 'task-initialization', bench: 'create diamond task', metric: 'p99' },
  { file: 'event-propagation', bench: 'notify small payload', metric: 'p95' },
  { file: 'sql-functions', bench: '*@100K', metric: 'p50' },
] satisfies Gate[])

export function parseGates(raw: string | undefined, name = 'BENCH_GATE'): Gate[] {
  if (!raw || raw.trim() === '') return []
  return raw
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((part) => {
      const m = /^([^/=]+)\/([^=]+)=\s*(\S+)$/.exec(part)
      if (!m) throw new ConfigError(`${name}: "${part}" is not file/bench=metric (e.g. e2e-latency/e2e tree=p50)`)
      const metric = m[3]!
      if (!(COMPARED_METRICS as readonly string[]).includes(metric)) throw new ConfigError(`${name}: "${part}": ${metric} is not one of ${COMPARED_METRICS.join('|')}`)
      return { file: m[1]!.trim(), bench: m[2]!.trim(), metric: metric as ComparedMetric }
    })
}

/** The metric that gates this bench, or undefined when it only informs. */
export function gateFor(entry: Pick<ResultEntry, 'file' | 'bench'>, gates: readonly Gate[]): ComparedMetric | undefined {
  return findGate(entry, gates)?.metric
}

/** The first gate that names this bench. */
export function findGate(entry: Pick<ResultEntry, 'file' | 'bench'>, gates: readonly Gate[]): Gate | undefined {
  return gates.find((g) => g.file === entry.file && matches(g.bench, entry.bench))
}

function matches(pattern: string, name: string): boolean {
  if (!pattern.includes('*')) return pattern === name
  const re = new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`)
  return re.test(name)
}

/** The bench files (their `module` paths, sorted) that hold a gating bench among these results. */
export function gatingModules(entries: ReadonlyArray<Pick<ResultEntry, 'file' | 'bench' | 'module'>>, gates: readonly Gate[]): string[] {
  return [...new Set(entries.filter((e) => gateFor(e, gates) !== undefined).map((e) => e.module))].sort()
}
