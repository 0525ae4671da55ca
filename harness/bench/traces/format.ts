/** A scenario breakdown as console text: phase percentiles, the latency budget, the workers. */
import { PHASE_ORDER, type ScenarioBreakdown } from './aggregate.ts'

const DESCRIBE: Record<string, string> = {
  'task.create': 'POST /v1/tasks on the server',
  'step.enqueue': 'step → enqueued + message sent',
  'queue.wait': 'message waiting for a worker',
  'worker.claim': 'read + claim (→ in_progress)',
  'worker.execute': 'handler',
  'worker.other': 'worker, between claim and submit',
  'worker.submit': 'store result + result message',
  'result.wait': 'result waiting for orchestration',
  'result.process': 'orchestration handles the result',
  'task.finalize': 'task → complete',
  'orchestration.gap': 'on the path, in no span',
  'server.total': 'task.create start → finalize end',
  unexplained: 'E2E − server (HTTP, notification, client)',
}

export function formatBreakdown(b: ScenarioBreakdown): string {
  const lines: string[] = []
  const incomplete = b.incomplete.count > 0 ? `; ${b.incomplete.count} with incomplete traces, left out` : ''
  lines.push(`[traces] ${b.scenario}: ${b.complete} of ${b.tasks} tasks with complete traces${incomplete}${b.flavour ? ` (${b.flavour} span names)` : ''}`)
  for (const ex of b.incomplete.examples.slice(0, 3)) {
    lines.push(`  incomplete: correlation ${ex.correlationId}${ex.taskUuid ? ` task ${ex.taskUuid}` : ''}: ${ex.missing.join('; ')}`)
  }
  for (const line of b.untraced ?? []) lines.push(`  not traced: ${line}`)
  if (b.complete === 0) return lines.join('\n')

  const lowN = Object.values(b.phases).some((s) => s && !s.p99Meaningful)
  lines.push(`  ${pad('phase', 16)}${lpad('n', 7)}${lpad('p50', 10)}${lpad('p95', 10)}${lpad('p99', 10)}${lpad('mean', 10)}   (ms)`)
  for (const key of PHASE_ORDER) {
    const s = b.phases[key]
    if (!s) continue
    lines.push(`  ${pad(key, 16)}${lpad(String(s.n), 7)}${num(s.p50)}${num(s.p95)}${num(s.p99)}${s.p99Meaningful ? '' : '*'}${num(s.mean, s.p99Meaningful ? 10 : 9)}   ${DESCRIBE[key] ?? ''}`)
  }
  if (lowN) lines.push('  * fewer than 100 samples: p99 is not a tail figure')

  const { budget } = b
  const pathSteps = budget.criticalPathSteps === 1 ? '1 step' : `${budget.criticalPathSteps} steps`
  lines.push(`  latency budget, mean per task along the critical path (${pathSteps}):`)
  for (const row of budget.rows) {
    const share = `${(row.share * 100).toFixed(1)} %`
    lines.push(`    ${pad(row.label, 18)}${num(row.meanMs)} ms ${lpad(share, 8)}   ${DESCRIBE[row.label] ?? ''}`)
  }
  lines.push(`    ${pad('= measured E2E', 18)}${num(budget.e2eMeanMs)} ms   (server ${budget.serverMeanMs.toFixed(2)} ms + unexplained)`)
  const workers = Object.entries(b.workers).sort((a, c) => c[1] - a[1])
  if (workers.length > 0) lines.push(`  steps per worker: ${workers.map(([w, n]) => `${w} ${n}`).join(', ')}`)
  return lines.join('\n')
}

const pad = (s: string, n: number) => s.padEnd(n)
const lpad = (s: string, n: number) => s.padStart(n)
const num = (v: number, width = 10) => lpad(v.toFixed(2), width)
