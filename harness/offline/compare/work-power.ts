/**
 * The power of the work comparison, on real reruns (npm run bench:power -- --work): runs of the
 * unchanged code and runs whose workers add one statement per step (BENCH_WORKER_EXTRA_STATEMENTS),
 * with and without a CPU hog beside them. From their results:
 *   - the spread of each counter per task over the identical runs (what the margins must cover);
 *   - how often one round (one run of each side, judged by compareWork like bench:ab) flags the
 *     extra statement per step, and how often it flags identical code — every ordered pair of runs
 *     of the same hog condition is a trial (trials share runs: the number of runs is printed).
 * Pure: the runs are read by the caller (work-power-run.ts).
 */
import type { ResultsDocument } from '../../results/schema.ts'
import { WORK_COUNTERS, type WorkCounter } from '../../results/work.ts'
import { compareWork } from './work-compare.ts'
import { HEADLINE_GATES } from './gating.ts'

export interface WorkPowerRun {
  name: string
  /** extra statements per step the workers ran */
  extra: number
  hog: boolean
  doc: ResultsDocument
}

export interface CounterSpread {
  counter: WorkCounter
  runs: number
  median: number
  min: number
  max: number
  /** largest |value / median − 1| */
  maxRelativeDeviation: number
  /** largest |value − median| per task */
  maxAbsoluteDeviation: number
}

export interface FlagRate {
  hog: boolean
  condition: 'identical' | '+1 statement/step'
  trials: number
  flagged: number
  /** trials whose SQL diff named the experiment's statement */
  statementShown: number
  runs: number
}

export interface WorkPowerAnalysis {
  bench: string
  spread: Array<{ hog: boolean; counters: CounterSpread[] }>
  rates: FlagRate[]
}

/** The experiment's statement, as the SQL diff names it (orchestrator/src/db/sql/experiment-extra-statement.ts). */
export const EXPERIMENT_STATEMENT = 'experiment_extra_statement'

export function analyseWorkPower(runs: readonly WorkPowerRun[], bench: string): WorkPowerAnalysis {
  const spread: WorkPowerAnalysis['spread'] = []
  const rates: FlagRate[] = []
  for (const hog of [false, true]) {
    const identical = runs.filter((r) => r.hog === hog && r.extra === 0 && workOf(r, bench))
    const added = runs.filter((r) => r.hog === hog && r.extra === 1 && workOf(r, bench))
    if (identical.length === 0) continue
    spread.push({ hog, counters: counterSpread(identical.map((r) => workOf(r, bench)!.perTask)) })
    const judge = (base: WorkPowerRun, head: WorkPowerRun) => {
      const row = compareWork(base.doc, head.doc, HEADLINE_GATES).benches.find((b) => b.id === bench)
      return { flagged: row?.verdict === 'regressed', shown: row?.statements.some((s) => s.query.includes(EXPERIMENT_STATEMENT)) ?? false }
    }
    const tally = (condition: FlagRate['condition'], pairs: Array<[WorkPowerRun, WorkPowerRun]>, runCount: number) => {
      const judged = pairs.map(([b, h]) => judge(b, h))
      rates.push({ hog, condition, trials: judged.length, flagged: judged.filter((j) => j.flagged).length, statementShown: judged.filter((j) => j.shown).length, runs: runCount })
    }
    tally('identical', identical.flatMap((b) => identical.filter((h) => h !== b).map((h): [WorkPowerRun, WorkPowerRun] => [b, h])), identical.length)
    if (added.length > 0) tally('+1 statement/step', identical.flatMap((b) => added.map((h): [WorkPowerRun, WorkPowerRun] => [b, h])), identical.length + added.length)
  }
  return { bench, spread, rates }
}

function workOf(run: WorkPowerRun, bench: string) {
  return run.doc.results.find((e) => `${e.file} > ${e.bench}` === bench)?.work
}

function counterSpread(perTask: ReadonlyArray<Partial<Record<WorkCounter, number>>>): CounterSpread[] {
  const out: CounterSpread[] = []
  for (const counter of WORK_COUNTERS) {
    const values = perTask.map((p) => p[counter]).filter((v): v is number => v !== undefined).sort((a, b) => a - b)
    if (values.length === 0) continue
    const mid = values.length >> 1
    const median = values.length % 2 ? values[mid]! : (values[mid - 1]! + values[mid]!) / 2
    const maxAbsoluteDeviation = Math.max(...values.map((v) => Math.abs(v - median)))
    out.push({
      counter,
      runs: values.length,
      median,
      min: values[0]!,
      max: values.at(-1)!,
      maxAbsoluteDeviation,
      maxRelativeDeviation: median === 0 ? (maxAbsoluteDeviation === 0 ? 0 : Infinity) : maxAbsoluteDeviation / median,
    })
  }
  return out
}

/** The tables for the console and the README. */
export function formatWorkPowerTable(a: WorkPowerAnalysis): string[] {
  const lines = [`work per task of ${a.bench}: spread over runs of identical code`]
  for (const s of a.spread) {
    lines.push('', `${s.hog ? 'with a CPU hog beside the run' : 'quiet'}:`, '| counter | runs | median/task | min | max | largest deviation |', '|---|--:|--:|--:|--:|--:|')
    for (const c of s.counters) {
      const rel = Number.isFinite(c.maxRelativeDeviation) ? `${(c.maxRelativeDeviation * 100).toFixed(1)} %` : '∞'
      lines.push(`| ${c.counter} | ${c.runs} | ${fmt(c.median)} | ${fmt(c.min)} | ${fmt(c.max)} | ${fmt(c.maxAbsoluteDeviation)} (${rel}) |`)
    }
  }
  lines.push('', 'one round (one run of each side) judged by the work comparison (2 % / 0.5 per task):', '| beside the run | head | trials (runs) | flagged | SQL diff names the statement |', '|---|---|--:|--:|--:|')
  for (const r of a.rates) {
    const pct = (n: number) => (r.trials > 0 ? `${((n / r.trials) * 100).toFixed(0)} %` : '—')
    lines.push(`| ${r.hog ? 'CPU hog' : 'quiet'} | ${r.condition} | ${r.trials} (${r.runs}) | ${r.flagged} (${pct(r.flagged)}) | ${r.statementShown} (${pct(r.statementShown)}) |`)
  }
  return lines
}

const fmt = (n: number): string => (Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(2))
