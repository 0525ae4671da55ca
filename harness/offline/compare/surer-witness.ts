/**
 * Where a phase of the trace breakdown sees a change far more surely than the E2E wall time
 * that gates: on a shared runner an E2E p50 of +16.7 % stood at z = 2.99 (the bar: 2.935), while
 * its workflow's `worker.execute` phase moved +2.2 ms at z = 150. Such a phase is named in the
 * gating bench's verdict, so a reader sees where the change is, and how sure it is.
 *
 * A phase row is `<file> > <scenario>: <phase>` (harness/bench/traces/report.ts) next to the E2E
 * bench `e2e <scenario>`; it witnesses when its p50 change is significant, beyond its margin, and
 * its |z| is at least SURER_FACTOR times the gate's (and the gate's z is known).
 */
import { formatDeltaMs, formatPercent } from '../../results/format.ts'
import type { BenchComparison } from './compare-runs.ts'

export const SURER_FACTOR = 5

export interface Witness {
  /** the phase row's id */
  id: string
  phase: string
  relative: number
  deltaMs: number
  z: number
  /** the gate's z it is compared with */
  gateZ: number
}

/** Sets `witnesses` on each gating E2E bench that has one and names them in its reason. */
export function addSurerWitnesses(benches: BenchComparison[]): void {
  for (const row of benches) {
    if (!row.gate || !row.bench.startsWith('e2e ')) continue
    const gate = row.metrics.find((m) => m.metric === row.gate)
    const gateZ = gate?.effect?.z
    if (gateZ === undefined || !Number.isFinite(gateZ)) continue
    const prefix = `${row.bench.slice('e2e '.length)}: `
    const witnesses: Witness[] = []
    for (const other of benches) {
      if (other.file !== row.file || !other.bench.startsWith(prefix)) continue
      const m = other.metrics.find((x) => x.metric === 'p50')
      const z = m?.effect?.z
      if (!m || z === undefined || !m.significant || !m.exceedsMargin) continue
      if (Math.abs(z) < SURER_FACTOR * Math.max(Math.abs(gateZ), 1)) continue
      witnesses.push({ id: other.id, phase: other.bench.slice(prefix.length), relative: m.relative, deltaMs: m.deltaMs, z, gateZ })
    }
    if (witnesses.length === 0) continue
    witnesses.sort((a, b) => Math.abs(b.z) - Math.abs(a.z))
    row.witnesses = witnesses
    row.reason += `; ${witnessSentence(witnesses)}`
  }
}

/** `seen far more surely by the trace phase worker.execute: p50 +2.20 ms (+9.1 %) at z = 150 (E2E: z = 2.99)` */
export function witnessSentence(witnesses: readonly Witness[]): string {
  const list = witnesses
    .slice(0, 3)
    .map((w) => `${w.phase}: p50 ${formatDeltaMs(w.deltaMs)} (${formatPercent(w.relative)}) at z = ${w.z.toFixed(1)}`)
    .join(', ')
  return `seen far more surely by the trace phase${witnesses.length > 1 ? 's' : ''} ${list} (E2E: z = ${witnesses[0]!.gateZ.toFixed(2)})`
}
