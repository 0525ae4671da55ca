/**
 * The work comparison (harness/offline/compare/work-compare.ts) on synthetic results documents:
 * one extra statement per step in `e2e linear` is a gating work regression from one run each,
 * named in the SQL diff that leads the PR comment; identical work, or counters that move less
 * than 2 % / half a unit per task, pass; a bench that does not gate only informs, and so does a
 * pgmq or NOTIFY counter that base and head counted another way. And a trace
 * phase that sees a change far more surely than the E2E time is named in the gate's verdict.
 */
import { describe, expect, test } from 'vitest'
import { compareRuns, hasRegression, type BenchComparison } from '../harness/offline/compare/compare-runs.ts'
import { MarginBook, PAIRED_MARGINS } from '../harness/offline/compare/margins.ts'
import { addSurerWitnesses } from '../harness/offline/compare/surer-witness.ts'
import { seededRandom } from '../harness/offline/compare/seeded-random.ts'
import { lognormalSamples, simulatedDocument } from '../harness/offline/compare/simulate.ts'
import { compareWork, sqlDiffLines, statementDiff } from '../harness/offline/compare/work-compare.ts'
import { HEADLINE_GATES } from '../harness/offline/compare/gating.ts'
import { renderMarkdown } from '../harness/offline/report/markdown.ts'
import { comparisonLines } from '../harness/offline/report/terminal.ts'
import type { ResultsDocument } from '../harness/results/schema.ts'
import type { WorkMeasurement } from '../harness/results/work.ts'
import { LINEAR_STATEMENTS, workOf, type StatementSpec } from './support/work-fixtures.ts'

const EXTRA = 'UPDATE workflow_steps SET last_attempted_at = now() WHERE workflow_step_uuid = $1'
const withExtra: StatementSpec[] = [...LINEAR_STATEMENTS, { query: EXTRA, calls: 4, rows: 4, sharedBlks: 16 }]

/** One run: e2e linear (gates) and tree (informs) with their work, and samples for the time side. */
function runWith(linear: WorkMeasurement, tree: WorkMeasurement = workOf(LINEAR_STATEMENTS), seed = 1): ResultsDocument {
  const random = seededRandom(seed)
  const doc = simulatedDocument([
    { file: 'e2e-latency', bench: 'e2e linear', samples: lognormalSamples(random, 200, 20, 0.3) },
    { file: 'e2e-latency', bench: 'e2e tree', samples: lognormalSamples(random, 200, 30, 0.3) },
  ])
  doc.results[0]!.work = linear
  doc.results[0]!.extra = { steps: 4 }
  doc.results[1]!.work = tree
  return doc
}

const compare = (base: ResultsDocument, head: ResultsDocument) =>
  compareRuns(base, head, { margins: new MarginBook(undefined, 'built-in paired margins', PAIRED_MARGINS), rounds: { baseline: [base], current: [head] }, labels: { baseline: 'base', current: 'head' } })

describe('work per task, base vs head from one run each', () => {
  test('one statement more per step in e2e linear is a gating work regression, shown in the SQL diff', () => {
    const c = compare(runWith(workOf(LINEAR_STATEMENTS, {}, 'a')), runWith(workOf(withExtra, {}, 'b'), undefined, 2))
    const linear = c.work!.benches.find((b) => b.id === 'e2e-latency > e2e linear')!
    expect(linear).toMatchObject({ gate: true, verdict: 'regressed', stepsPerTask: 4 })
    expect(linear.reason).toContain('statements +4.00 statements/task (21.00 → 25.00)')
    expect(linear.reason).toContain('round_trips +4.00')
    // only the new statement: the others kept their calls and rows although their query ids differ
    expect(linear.statements.map((s) => [s.query, s.changed])).toEqual([[EXTRA, ['calls', 'rows']]])
    expect(sqlDiffLines(linear)).toEqual([`+1.00 call/step      ${EXTRA} (new)`, `+1.00 row/step       ${EXTRA} (new)`])
    expect(c.gating.regressed).toBe(0) // the times did not move beyond the noise…
    expect(hasRegression(c)).toBe(true) // …the work did: the check fails

    const md = renderMarkdown({ current: runWith(workOf(withExtra)), comparison: c })
    const lines = md.split('\n')
    expect(lines[1]).toMatch(/^### tasker-bench: ❌ \*\*work regressed\*\*: e2e-latency > e2e linear · time: ✅ no gating regression /)
    const work = lines.indexOf('#### Work per task (one run of each side; changed: beyond 2 % / 0.5 per task)')
    expect(work).toBeGreaterThan(0)
    expect(work).toBeLessThan(lines.indexOf('#### Gating benches')) // the SQL diff leads
    expect(md).toContain(`e2e-latency > e2e linear (4 steps per task):\n\n\`\`\`diff\n+1.00 call/step      ${EXTRA} (new)\n`)
    expect(md).toContain('- **e2e-latency > e2e linear** (gates): 🔴 **regressed** — statements +4.00 statements/task')
    expect(md).toContain('**Gating regressions fail this check**')
    expect(comparisonLines(c, 'base').join('\n')).toMatch(/work regressed {2}e2e-latency > e2e linear \[gates: fails\]: statements \+4\.00[\s\S]*\+1\.00 call\/step/)
  })

  test('identical code passes: same work, other query ids', () => {
    const c = compare(runWith(workOf(LINEAR_STATEMENTS, {}, 'a')), runWith(workOf(LINEAR_STATEMENTS, {}, 'b'), undefined, 2))
    expect(c.work!.benches.map((b) => [b.id, b.verdict, b.statements.length])).toEqual([
      ['e2e-latency > e2e linear', 'unchanged', 0],
      ['e2e-latency > e2e tree', 'unchanged', 0],
    ])
    expect(hasRegression(c)).toBe(false)
    const md = renderMarkdown({ current: runWith(workOf(LINEAR_STATEMENTS)), comparison: c })
    expect(md).toContain('✅ work unchanged (1 gating bench)')
    expect(md).toContain('**SQL diff**: no statement changed its calls, rows or blocks per task.')
  })

  test('the margin: 2 % of the base and at least half a unit per task', () => {
    const base = workOf(LINEAR_STATEMENTS)
    const at = (perTask: Partial<WorkMeasurement['perTask']>) => compareWork(runWith(base), runWith(workOf(LINEAR_STATEMENTS, perTask)), HEADLINE_GATES).benches[0]!
    expect(at({ statements: 21.45 }).verdict).toBe('unchanged') // +0.45: under half a statement
    expect(at({ statements: 21.55 }).verdict).toBe('regressed') // +0.55 (2.6 %)
    expect(at({ rows: 17 + 0.3 }).verdict).toBe('unchanged')
    expect(at({ statements: 20.6 }).verdict).toBe('unchanged') // −0.4
    expect(at({ statements: 20.6, rows: 16 }).verdict).toBe('improved') // one row fewer
    // counters that move with caches, checkpoints and timing inform only
    expect(at({ wal_bytes: 9000, cpu_ms: 9, shared_blks: 400, commits: 12.7 }).verdict).toBe('unchanged')
    expect(at({ wal_bytes: 9000 }).counters.find((k) => k.counter === 'wal_bytes')).toMatchObject({ changed: true, gates: false })
  })

  test('a bench that does not gate informs: more work there fails nothing', () => {
    const c = compare(runWith(workOf(LINEAR_STATEMENTS)), runWith(workOf(LINEAR_STATEMENTS), workOf(withExtra)))
    const tree = c.work!.benches.find((b) => b.bench === 'e2e tree')!
    expect(tree).toMatchObject({ gate: false, verdict: 'unchanged' })
    expect(tree.statements).toHaveLength(1) // still in the SQL diff
    expect(hasRegression(c)).toBe(false)
  })

  test('a timer statement that ran in one window only is no change; more blocks of a statement both ran is', () => {
    const scan = { query: 'SELECT ws.workflow_step_uuid FROM tasker.workflow_step_transitions tr JOIN …', calls: 0.2, rows: 0, sharedBlks: 25 }
    const diff = statementDiff(workOf([...LINEAR_STATEMENTS, scan]), workOf(LINEAR_STATEMENTS.map((s, i) => (i === 0 ? { ...s, sharedBlks: 60 } : s))))
    expect(diff.map((s) => [s.query, s.changed])).toEqual([['SELECT pgmq.read($1, $2, $3)', ['blocks']]])
  })

  test('statements are matched by text and level, summed over databases; gone statements show with a minus', () => {
    const base = workOf([...LINEAR_STATEMENTS, { query: 'SELECT 1', calls: 2 }, { query: 'SELECT 1', calls: 2, toplevel: false }])
    const head = workOf(LINEAR_STATEMENTS)
    const diff = statementDiff(base, head)
    expect(diff.map((s) => [s.query, s.toplevel, s.baseline?.calls, s.current])).toEqual([
      ['SELECT 1', true, 2, undefined],
      ['SELECT 1', false, 2, undefined],
    ])
    const row = compareWork(runWith(base), runWith(head), HEADLINE_GATES).benches[0]!
    expect(sqlDiffLines(row)).toEqual(['-0.50 calls/step     SELECT 1 (gone)', '-0.50 calls/step     (nested) SELECT 1 (gone)'])
  })

  test('pgmq counters counted another way on one side (a base from before a change of method) inform, and say why', () => {
    const base = workOf(LINEAR_STATEMENTS, { pgmq_sent: 3, pgmq_archived: 6 })
    const head = { ...workOf(LINEAR_STATEMENTS, { pgmq_sent: 6, pgmq_archived: 6 }), pgmqCounted: 'from the queues' }
    const row = compareWork(runWith(base), runWith(head), HEADLINE_GATES).benches[0]!
    expect(row.verdict).toBe('unchanged')
    expect(row.counters.find((k) => k.counter === 'pgmq_sent')).toMatchObject({ changed: true, gates: false, informsBecause: 'counted differently by base and head (pgmqCounted)' })
    expect(row.reason).toBe('no gating counter moved beyond 2 % / 0.5 per task; informs only, counted differently by base and head (pgmqCounted): pgmq_sent +3.00 messages/task (3.00 → 6.00)')
    // counted the same way, the same change gates
    expect(compareWork(runWith(base), runWith({ ...head, pgmqCounted: base.pgmqCounted }), HEADLINE_GATES).benches[0]!.verdict).toBe('regressed')
  })

  test('a side without work (a base from before the counters) is named, not compared', () => {
    const base = runWith(workOf(LINEAR_STATEMENTS))
    for (const e of base.results) delete e.work
    const c = compare(base, runWith(workOf(withExtra)))
    expect(c.work).toMatchObject({ benches: [], oneSided: ['e2e-latency > e2e linear', 'e2e-latency > e2e tree'] })
    expect(hasRegression(c)).toBe(false)
  })
})

describe('a trace phase that sees the change far more surely than the E2E time', () => {
  const metric = (z: number, relative: number, significant = true) => ({
    metric: 'p50' as const, baseline: 20, current: 20 * (1 + relative), deltaMs: 20 * relative, relative, margin: { relative: 0.1, absoluteMs: 0.05 },
    exceedsMargin: true, critical: 2.935, significant, detectable: 0.2, verdict: 'regressed' as const, note: '',
    effect: { z, relative, logSe: 0.05, rounds: 3, slower: 3, perRound: [relative] } as never,
  })
  const row = (bench: string, z: number, relative: number, gate?: 'p50'): BenchComparison => ({
    id: `e2e-latency > ${bench}`, file: 'e2e-latency', bench, verdict: 'regressed', reason: 'p50 +16.7 %', metrics: [metric(z, relative)], ...(gate ? { gate } : {}),
  })

  test('is named in the gating bench verdict with both z values; a phase no surer than the E2E is not', () => {
    const rows = [row('e2e linear', 2.99, 0.167, 'p50'), row('linear: worker.execute', 150, 0.09), row('linear: step.enqueue', 4, 0.3), row('diamond: worker.execute', 200, 0.1)]
    addSurerWitnesses(rows)
    expect(rows[0]!.witnesses!.map((w) => w.phase)).toEqual(['worker.execute'])
    expect(rows[0]!.reason).toBe('p50 +16.7 %; seen far more surely by the trace phase worker.execute: p50 +1.80 ms (+9.0 %) at z = 150.0 (E2E: z = 2.99)')
    expect(rows[1]!.witnesses).toBeUndefined()
  })
})
