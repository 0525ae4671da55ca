/**
 * Comparing the work per task (harness/results/work.ts) of base and head: the counters and the
 * statement table of each bench that carries `work` on both sides, from ONE run of each (the
 * first round of an A/B run). Work hardly moves with the machine's speed, so tight margins
 * decide: a counter changed when it moved by more than WORK_MARGIN (2 % of the base, and at least
 * half a unit per task — half a statement, half a row). A gating bench (gating.ts) regresses on
 * work when a GATING_COUNTER grew beyond that margin; the other counters (buffers, WAL, commits,
 * CPU…) move with caches, checkpoints, stats flushes and timing, so they inform.
 *
 * The SQL diff: the statements whose calls or rows per task changed by more than the same margin
 * (or, run on both sides, whose shared blocks did by more than BLOCKS_MARGIN), matched by their
 * normalised text, not their query id (which names table OIDs, different in every run's database).
 */
import type { ResultEntry, ResultsDocument } from '../../results/schema.ts'
import { WORK_COUNTERS, WORK_UNITS, type StatementWork, type WorkCounter, type WorkMeasurement } from '../../results/work.ts'
import { entriesById } from './bench-id.ts'
import { findGate, type Gate } from './gating.ts'

export interface WorkMargin {
  /** fraction of the base value */
  relative: number
  /** per task, in the counter's unit */
  absolute: number
}

export const WORK_MARGIN: Readonly<WorkMargin> = Object.freeze({ relative: 0.02, absolute: 0.5 })
/** shared blocks of one statement: hits move with the cache and the tables' size, so wider */
export const BLOCKS_MARGIN: Readonly<WorkMargin> = Object.freeze({ relative: 0.1, absolute: 2 })

/**
 * The counters that gate: what the code asks the database to do, counted per statement. Not the
 * pg_stat_database ones (commits, tuples): database-wide and flushed once a second, they moved by
 * +3.7 commits and −8.2 inserted tuples per task between two runs of identical code here.
 */
export const GATING_COUNTERS: readonly WorkCounter[] = ['statements', 'round_trips', 'rows', 'pgmq_sent', 'pgmq_read', 'pgmq_deleted', 'pgmq_archived', 'notifies']

/**
 * Counters whose way of counting the measurement names (`pgmqCounted`, `notifiesCounted`): they
 * gate only when both sides counted them the same way (a base from before a change of method, or a
 * deployment role that could read less on one side, would otherwise read as a change of the code).
 */
const COUNTED_BY: Partial<Record<WorkCounter, 'pgmqCounted' | 'notifiesCounted'>> = {
  pgmq_sent: 'pgmqCounted',
  pgmq_read: 'pgmqCounted',
  pgmq_deleted: 'pgmqCounted',
  pgmq_archived: 'pgmqCounted',
  notifies: 'notifiesCounted',
}

export type WorkVerdict = 'regressed' | 'improved' | 'unchanged'

export interface CounterChange {
  counter: WorkCounter
  unit: string
  baseline: number
  current: number
  /** current − baseline, per task */
  delta: number
  /** delta / baseline (Infinity from zero) */
  relative: number
  changed: boolean
  gates: boolean
  /** why a gating counter does not gate here (counted differently by base and head) */
  informsBecause?: string
}

export interface StatementChange {
  query: string
  toplevel: boolean
  /** per task; absent on the side that did not run it */
  baseline?: Pick<StatementWork, 'calls' | 'rows' | 'sharedBlks'>
  current?: Pick<StatementWork, 'calls' | 'rows' | 'sharedBlks'>
  /** what moved beyond its margin */
  changed: Array<'calls' | 'rows' | 'blocks'>
}

export interface WorkBenchComparison {
  id: string
  file: string
  bench: string
  /** a gating bench: a gating counter that grew fails the check */
  gate: boolean
  verdict: WorkVerdict
  /** one line: why */
  reason: string
  tasks: { baseline: number; current: number }
  /** steps per task (the test's `steps` annotation), to show the SQL diff per step */
  stepsPerTask?: number
  counters: CounterChange[]
  statements: StatementChange[]
}

export interface WorkComparison {
  margin: WorkMargin
  blocksMargin: WorkMargin
  benches: WorkBenchComparison[]
  /** benches with work on one side only (a side without the counters: e.g. a base from before them) */
  oneSided: string[]
  gating: { benches: number; regressed: number }
}

export function compareWork(baseline: ResultsDocument, current: ResultsDocument, gates: readonly Gate[]): WorkComparison {
  const before = entriesById(baseline.results)
  const after = entriesById(current.results)
  const benches: WorkBenchComparison[] = []
  const oneSided: string[] = []
  for (const [id, c] of after) {
    const b = before.get(id)
    if (!b) continue
    if (!b.work || !c.work) {
      if (b.work || c.work) oneSided.push(id)
      continue
    }
    benches.push(compareBench(id, b, c, findGate(c, gates) !== undefined))
  }
  const gating = benches.filter((x) => x.gate)
  return { margin: WORK_MARGIN, blocksMargin: BLOCKS_MARGIN, benches, oneSided, gating: { benches: gating.length, regressed: gating.filter((x) => x.verdict === 'regressed').length } }
}

export function workRegressed(work: WorkComparison | undefined): boolean {
  return (work?.gating.regressed ?? 0) > 0
}

function compareBench(id: string, b: ResultEntry, c: ResultEntry, gate: boolean): WorkBenchComparison {
  const base = b.work!
  const head = c.work!
  const counters: CounterChange[] = []
  for (const counter of WORK_COUNTERS) {
    const x = base.perTask[counter]
    const y = head.perTask[counter]
    if (x === undefined || y === undefined) continue
    const delta = y - x
    const method = COUNTED_BY[counter]
    const sameMethod = method === undefined || base[method] === head[method]
    counters.push({
      counter,
      unit: WORK_UNITS[counter],
      baseline: x,
      current: y,
      delta,
      relative: x === 0 ? (delta === 0 ? 0 : Infinity) : delta / x,
      changed: beyond(x, y, WORK_MARGIN),
      gates: gate && GATING_COUNTERS.includes(counter) && sameMethod,
      ...(gate && GATING_COUNTERS.includes(counter) && !sameMethod ? { informsBecause: `counted differently by base and head (${method})` } : {}),
    })
  }
  const grew = counters.filter((k) => k.gates && k.changed && k.delta > 0)
  const shrank = counters.filter((k) => k.gates && k.changed && k.delta < 0)
  const verdict: WorkVerdict = grew.length > 0 ? 'regressed' : shrank.length > 0 ? 'improved' : 'unchanged'
  const steps = Number(c.extra?.steps ?? b.extra?.steps)
  const shown = verdict === 'regressed' ? grew : verdict === 'improved' ? shrank : []
  const movedBy = (k: CounterChange) => `${k.counter} ${formatSigned(k.delta)} ${k.unit}/task (${formatNumber(k.baseline)} → ${formatNumber(k.current)})`
  const recounted = counters.filter((k) => k.informsBecause && k.changed)
  const reason =
    (shown.length > 0
      ? shown.map(movedBy).join(', ')
      : gate
        ? `no gating counter moved beyond ${formatMargin(WORK_MARGIN)}`
        : 'informs only (not a gating bench)') + (recounted.length > 0 ? `; informs only, ${recounted[0]!.informsBecause}: ${recounted.map(movedBy).join(', ')}` : '')
  return {
    id,
    file: c.file,
    bench: c.bench,
    gate,
    verdict,
    reason,
    tasks: { baseline: base.tasks, current: head.tasks },
    ...(Number.isFinite(steps) && steps > 0 ? { stepsPerTask: steps } : {}),
    counters,
    statements: statementDiff(base, head),
  }
}

/** Moved by more than the margin: relatively AND by at least the absolute amount per task. */
function beyond(x: number, y: number, margin: WorkMargin): boolean {
  return Math.abs(y - x) > Math.max(margin.relative * Math.abs(x), margin.absolute)
}

type Totals = Pick<StatementWork, 'calls' | 'rows' | 'sharedBlks'>

export function statementDiff(base: WorkMeasurement, head: WorkMeasurement): StatementChange[] {
  const b = byText(base.statements)
  const h = byText(head.statements)
  const out: StatementChange[] = []
  for (const key of new Set([...b.keys(), ...h.keys()])) {
    const x = b.get(key)
    const y = h.get(key)
    const zero: Totals = { calls: 0, rows: 0, sharedBlks: 0 }
    const bx = x?.totals ?? zero
    const hy = y?.totals ?? zero
    const changed: StatementChange['changed'] = []
    if (beyond(bx.calls, hy.calls, WORK_MARGIN)) changed.push('calls')
    if (beyond(bx.rows, hy.rows, WORK_MARGIN)) changed.push('rows')
    // blocks only of a statement both sides ran: one that came or went is named by its calls, if
    // it ran often enough to matter (a timer's scan running once in one window is not a change)
    if (x && y && beyond(bx.sharedBlks, hy.sharedBlks, BLOCKS_MARGIN)) changed.push('blocks')
    if (changed.length === 0) continue
    const { query, toplevel } = (y ?? x)!
    out.push({ query, toplevel, ...(x ? { baseline: x.totals } : {}), ...(y ? { current: y.totals } : {}), changed })
  }
  // largest change in calls first, then rows
  const callsDelta = (s: StatementChange) => Math.abs((s.current?.calls ?? 0) - (s.baseline?.calls ?? 0))
  const rowsDelta = (s: StatementChange) => Math.abs((s.current?.rows ?? 0) - (s.baseline?.rows ?? 0))
  return out.sort((p, q) => callsDelta(q) - callsDelta(p) || rowsDelta(q) - rowsDelta(p))
}

/** Statements by normalised text and level, summed over databases (query ids differ between runs). */
function byText(statements: readonly StatementWork[]): Map<string, { query: string; toplevel: boolean; totals: Totals }> {
  const out = new Map<string, { query: string; toplevel: boolean; totals: Totals }>()
  for (const s of statements) {
    const key = `${s.toplevel ? 'top' : 'nested'}\u0000${s.query}`
    const seen = out.get(key) ?? { query: s.query, toplevel: s.toplevel, totals: { calls: 0, rows: 0, sharedBlks: 0 } }
    seen.totals = { calls: seen.totals.calls + s.calls, rows: seen.totals.rows + s.rows, sharedBlks: seen.totals.sharedBlks + s.sharedBlks }
    out.set(key, seen)
  }
  return out
}

/**
 * The SQL diff of one bench as lines of a ```diff block: `+1.00 call/step  UPDATE workflow_steps SET …`
 * (per step when the bench knows its steps per task, else per task), `-` for fewer, one line per
 * statement and figure that moved.
 */
export function sqlDiffLines(row: WorkBenchComparison, maxQueryChars = 160): string[] {
  const per = row.stepsPerTask ?? 1
  const unit = row.stepsPerTask ? 'step' : 'task'
  const lines: string[] = []
  for (const s of row.statements) {
    const query = `${s.toplevel ? '' : '(nested) '}${s.query.length > maxQueryChars ? `${s.query.slice(0, maxQueryChars - 1)}…` : s.query}`
    const status = !s.baseline ? ' (new)' : !s.current ? ' (gone)' : ''
    for (const what of s.changed) {
      const field = what === 'blocks' ? 'sharedBlks' : what
      const delta = ((s.current?.[field] ?? 0) - (s.baseline?.[field] ?? 0)) / per
      const name = what === 'calls' ? 'call' : what === 'rows' ? 'row' : 'block'
      const figure = `${formatSigned(delta)} ${name}${Math.abs(delta) === 1 ? '' : 's'}/${unit}`
      lines.push(`${delta > 0 ? '+' : '-'}${figure.slice(1).padEnd(20)}${query}${status}`)
    }
  }
  return lines
}

export const formatMargin = (m: WorkMargin): string => `${Number((m.relative * 100).toFixed(1))} % / ${m.absolute} per task`
const formatNumber = (n: number): string => (Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(2))
export const formatSigned = (n: number): string => `${n > 0 ? '+' : n < 0 ? '−' : '±'}${formatNumber(Math.abs(n))}`
