/**
 * Judging the power experiment's pool of real runs (scripts/bench-power.ts has the design). Every
 * verdict here comes from compareRuns — the code bench:ab and bench:compare use — applied to real
 * results files; nothing is simulated.
 *
 * Pairs: two runs next to each other in time. The designed pairs (base and head of one condition)
 * and, for identical code, also the boundary between two designed pairs when both runs there are
 * unchanged code (the design alternates the order, so every other boundary joins two base runs):
 * adjacent runs of identical code are exactly what an A/A pair is.
 */
import path from 'node:path'
import { entriesById } from './bench-id.ts'
import { compareRuns, gateRegressed, type ComparisonOptions } from './compare-runs.ts'
import type { Gate } from './gating.ts'
import { BASELINE_MARGINS, MarginBook, NORMALIZED_MARGINS, PAIRED_MARGINS, type MetricMargins } from './margins.ts'
import { isNormalized, normalizedComponents } from './normalized-statistic.ts'
import { poolRounds } from './pool.ts'
import { readResultsFile } from '../../results/read.ts'
import type { ResultsDocument } from '../../results/schema.ts'
import { seededRandom } from './seeded-random.ts'

export interface PowerRunRecord {
  name: string
  cycle: number
  effect: number
  side: 'base' | 'head'
  delayMs: number
  /** latest.json, relative to the experiment directory */
  file: string
  durationMs: number
  at: string
}

export interface PowerManifest {
  /** the bench whose p50 sizes the slowdowns */
  bench: string
  /** the bench judged, when not `bench` (e.g. its drift-normalized figure) */
  judge?: string
  filters: string[]
  samples: number
  startedAt: string
  /** the first run's p50; each slowdown's delay follows the latest identical-code run */
  reference: { p50Ms: number; steps: number }
  runs: PowerRunRecord[]
}

export interface PowerOptions {
  /** the workflow's default rounds: the row the defaults are read from */
  rounds: number
  /** the bench judged: "<file> > <bench>" */
  bench: string
  /** other rounds to tabulate (default 3, 5, 7, 9, 11, 13; only those the pools of pairs can fill) */
  roundsSweep?: number[]
  /** relative p50 margins to tabulate for bench:ab (default 5, 10, 15, 25 %) */
  pairedMargins?: number[]
  /** relative p50 margins to tabulate for bench:compare (default 15, 25, 50, 100 %) */
  singleMargins?: number[]
  /** at most this many trials per cell (default 2000, a seeded sample of the combinations) */
  maxTrials?: number
}

interface Run {
  record: PowerRunRecord
  doc: ResultsDocument
  p50: number
}

interface Pair {
  effect: number
  base: Run
  head: Run
  /** designed, or the boundary between two designed pairs (identical code only) */
  kind: 'designed' | 'boundary'
}

export interface PowerCell {
  rounds: number
  margin: number
  /** effect → { trials, flagged } */
  byEffect: Map<number, { trials: number; flagged: number }>
}

export interface PowerAnalysis {
  options: Required<PowerOptions>
  manifest: PowerManifest
  effects: number[]
  /** effect → real pairs, realised effect (median head/base − 1 of the pairs' p50) */
  pairs: Map<number, { designed: number; boundary: number; realised: number; delayMs: number }>
  ab: PowerCell[]
  single: { margin: number; falseAlarm: { trials: number; flagged: number }; falseAlarmAll: { trials: number; flagged: number }; byEffect: Map<number, { trials: number; flagged: number }> }[]
  zeroRuns: number
  /** the judged bench is a drift-normalized figure (its own default margins) */
  normalized: boolean
  /** root-mean-square log ratio of the identical-code pairs: how far two adjacent runs land apart */
  pairSpread: number
  /** rounds a 20 % slowdown would need for 90 % power at this spread (z beyond 2.94, margin aside) */
  roundsFor20: number
}

/** One experiment directory, or several (their pairs pooled; pairs never span two directories). */
export function analysePower(experiments: ReadonlyArray<{ manifest: PowerManifest; dir: string }>, options: PowerOptions): PowerAnalysis {
  if (experiments.length === 0) throw new RangeError('analysePower: no experiment to analyse')
  const opts: Required<PowerOptions> = {
    roundsSweep: [3, 5, 7, 9, 11, 13],
    pairedMargins: [0.05, 0.1, 0.15, 0.25],
    singleMargins: [0.1, 0.12, 0.15, 0.25, 0.5, 1],
    maxTrials: 2000,
    ...options,
  }
  const [file, bench] = splitId(opts.bench)
  const gates: Gate[] = [{ file, bench, metric: 'p50' }]
  const perDir = experiments.map(({ manifest, dir }) =>
    manifest.runs.map((record): Run => {
      const full = readResultsFile(path.join(dir, record.file))
      const byId = entriesById(full.results)
      const entry = byId.get(opts.bench)
      if (!entry) throw new Error(`${record.name}: no "${opts.bench}" in ${path.join(dir, record.file)}`)
      // a drift-normalized figure is judged with the two benches it divides
      const parts = isNormalized(entry) ? Object.values(normalizedComponents(entry) ?? {}).flatMap((id) => byId.get(id) ?? []) : []
      return { record, doc: { ...full, results: [entry, ...parts] }, p50: entry.p50 }
    }),
  )
  const runs = perDir.flat()
  const pairs = perDir.flatMap(formPairs)
  const manifest: PowerManifest = { ...experiments[0]!.manifest, runs: experiments.flatMap((e) => e.manifest.runs) }
  const effects = [...new Set(pairs.map((p) => p.effect))].sort((a, b) => a - b)
  const summary = new Map(
    effects.map((e) => {
      const list = pairs.filter((p) => p.effect === e)
      return [e, { designed: list.filter((p) => p.kind === 'designed').length, boundary: list.filter((p) => p.kind === 'boundary').length, realised: median(list.map((p) => p.head.p50 / p.base.p50 - 1)), delayMs: median(list.map((p) => p.head.record.delayMs)) }]
    }),
  )

  const flagged = (base: ResultsDocument, head: ResultsDocument, o: ComparisonOptions) => {
    const row = compareRuns(base, head, { ...o, gates, ignoreEnvironment: true }).benches.find((b) => b.id === opts.bench)
    return row !== undefined && gateRegressed(row)
  }
  const ab: PowerCell[] = []
  const random = seededRandom(20261204)
  const smallestPool = Math.min(...effects.map((e) => pairs.filter((p) => p.effect === e).length))
  for (const rounds of unique([opts.rounds, ...opts.roundsSweep]).filter((r) => r <= smallestPool)) {
    for (const margin of opts.pairedMargins) {
      const margins = bookWith(PAIRED_MARGINS, margin)
      const byEffect = new Map<number, { trials: number; flagged: number }>()
      for (const e of effects) {
        const pool = pairs.filter((p) => p.effect === e)
        let count = 0
        let hits = 0
        for (const trial of combinations(pool.length, rounds, opts.maxTrials, random)) {
          const chosen = trial.map((i) => pool[i]!)
          const bases = chosen.map((p) => p.base.doc)
          const heads = chosen.map((p) => p.head.doc)
          count++
          if (flagged(poolRounds(bases), poolRounds(heads), { margins, rounds: { baseline: bases, current: heads } })) hits++
        }
        byEffect.set(e, { trials: count, flagged: hits })
      }
      ab.push({ rounds, margin, byEffect })
    }
  }

  // bench:compare: single runs against single runs of unchanged code
  const zero = runs.filter((r) => r.record.delayMs === 0)
  const firstTen = zero.slice(0, 10)
  const single = opts.singleMargins.map((margin) => {
    const margins = bookWith(BASELINE_MARGINS, margin)
    const orderedPairs = (list: Run[]) => list.flatMap((a, i) => list.flatMap((b, j) => (i === j ? [] : [[a, b] as const])))
    const rate = (list: ReadonlyArray<readonly [Run, Run]>) => ({ trials: list.length, flagged: list.filter(([a, b]) => flagged(a.doc, b.doc, { margins })).length })
    const byEffect = new Map<number, { trials: number; flagged: number }>()
    for (const e of effects.filter((x) => x > 0)) {
      const slowed = runs.filter((r) => r.record.effect === e && r.record.delayMs > 0)
      byEffect.set(e, rate(slowed.flatMap((s) => zero.map((z) => [z, s] as const))))
    }
    return { margin, falseAlarm: rate(orderedPairs(firstTen)), falseAlarmAll: rate(orderedPairs(zero)), byEffect }
  })
  const aa = pairs.filter((p) => p.effect === 0).map((p) => Math.log(p.head.p50 / p.base.p50))
  const pairSpread = aa.length > 0 ? Math.sqrt(aa.reduce((sum, d) => sum + d * d, 0) / aa.length) : NaN
  const roundsFor20 = Math.ceil((((2.94 + 1.2816) * pairSpread) / Math.log(1.2)) ** 2)
  const normalized = runs.length > 0 && isNormalized(runs[0]!.doc.results[0]!)
  return { options: opts, manifest, effects, pairs: summary, ab, single, zeroRuns: zero.length, normalized, pairSpread, roundsFor20 }
}

export function formatPowerTable(a: PowerAnalysis): string[] {
  const pct = (x: number) => `${Math.round(x * 100)} %`
  const share = (s: { trials: number; flagged: number } | undefined) => (s && s.trials > 0 ? `${pct(s.flagged / s.trials)} of ${s.trials}` : '—')
  const slowdowns = a.effects.filter((e) => e > 0)
  const lines: string[] = []
  lines.push(
    `power experiment: ${a.options.bench} p50${a.options.bench === a.manifest.bench ? '' : ` (slowdowns sized by ${a.manifest.bench})`}, first run ${a.manifest.reference.p50Ms.toFixed(1)} ms over ${a.manifest.reference.steps} steps, ${a.manifest.samples} samples per run, ${a.manifest.runs.length} real runs`,
    '',
    '| slowdown (nominal) | delay per step (median) | realised (median of pairs) | real pairs |',
    '|---|--:|--:|--:|',
  )
  for (const e of a.effects) {
    const s = a.pairs.get(e)!
    lines.push(`| ${e === 0 ? 'identical code' : `+${pct(e)}`} | ${e === 0 ? '—' : `${s.delayMs.toFixed(2)} ms`} | ${s.realised >= 0 ? '+' : ''}${(s.realised * 100).toFixed(1)} % | ${s.designed}${s.boundary ? ` + ${s.boundary} adjacent A/A` : ''} |`)
  }
  lines.push(
    '',
    `two adjacent runs of identical code land ${(Math.expm1(a.pairSpread) * 100).toFixed(0)} % apart (root mean square of their p50 log ratio):` +
      ` at that spread a +20 % slowdown needs about ${a.roundsFor20} paired rounds for 90 % power`,
  )
  lines.push('', `bench:ab (paired rounds): share of trials flagged "regressed" (trials: combinations of R real pairs)`, '')
  lines.push(`| rounds | p50 margin | identical code (false alarms) | ${slowdowns.map((e) => `+${pct(e)}`).join(' | ')} |`, `|--:|--:|--:|${slowdowns.map(() => '--:').join('|')}|`)
  for (const cell of a.ab) {
    const mark = cell.rounds === a.options.rounds && cell.margin === PAIRED_MARGINS.p50.relative ? ' **(default)**' : ''
    lines.push(`| ${cell.rounds}${mark} | ${pct(cell.margin)} | ${share(cell.byEffect.get(0))} | ${slowdowns.map((e) => share(cell.byEffect.get(e))).join(' | ')} |`)
  }
  lines.push('', `bench:compare (one run against one run of unchanged code; ${a.zeroRuns} identical-code runs)`, '')
  lines.push(`| p50 margin | false alarms, first 10 runs, every ordered pair | false alarms, all pairs | ${slowdowns.map((e) => `+${pct(e)} vs every identical run`).join(' | ')} |`, `|--:|--:|--:|${slowdowns.map(() => '--:').join('|')}|`)
  for (const s of a.single) {
    const mark = s.margin === (a.normalized ? NORMALIZED_MARGINS : BASELINE_MARGINS).p50.relative ? ' **(default)**' : ''
    lines.push(`| ${pct(s.margin)}${mark} | ${share(s.falseAlarm)} | ${share(s.falseAlarmAll)} | ${slowdowns.map((e) => share(s.byEffect.get(e))).join(' | ')} |`)
  }
  return lines
}

/** Designed pairs, plus adjacent identical-code runs at the boundary between designed pairs. */
function formPairs(runs: readonly Run[]): Pair[] {
  const pairs: Pair[] = []
  const used = new Set<number>()
  for (let i = 0; i + 1 < runs.length; i++) {
    const a = runs[i]!.record
    const b = runs[i + 1]!.record
    if (used.has(i) || a.cycle === 0 || a.cycle !== b.cycle || a.effect !== b.effect || a.side === b.side) continue
    const [base, head] = a.side === 'base' ? [runs[i]!, runs[i + 1]!] : [runs[i + 1]!, runs[i]!]
    pairs.push({ effect: a.effect, base, head, kind: 'designed' })
    used.add(i).add(i + 1)
  }
  // boundaries: two adjacent runs of unchanged code that are not one designed pair
  for (let i = 0; i + 1 < runs.length; i++) {
    if (runs[i]!.record.delayMs === 0 && runs[i + 1]!.record.delayMs === 0) {
      const designedTogether = pairs.some((p) => (p.base === runs[i] && p.head === runs[i + 1]) || (p.head === runs[i] && p.base === runs[i + 1]))
      if (!designedTogether) pairs.push({ effect: 0, base: runs[i]!, head: runs[i + 1]!, kind: 'boundary' })
    }
  }
  return pairs
}

/** Index combinations of k out of n: all of them, or a seeded sample of `max` distinct ones. */
export function* combinations(n: number, k: number, max: number, random: () => number): Generator<number[]> {
  if (k > n || k < 1) return
  const total = binomial(n, k)
  if (total <= max) {
    const idx = Array.from({ length: k }, (_, i) => i)
    while (true) {
      yield [...idx]
      let i = k - 1
      while (i >= 0 && idx[i] === n - k + i) i--
      if (i < 0) return
      idx[i]!++
      for (let j = i + 1; j < k; j++) idx[j] = idx[j - 1]! + 1
    }
  }
  const seen = new Set<string>()
  while (seen.size < max) {
    const pick = new Set<number>()
    while (pick.size < k) pick.add(Math.floor(random() * n))
    const sorted = [...pick].sort((a, b) => a - b)
    const key = sorted.join(',')
    if (seen.has(key)) continue
    seen.add(key)
    yield sorted
  }
}

function binomial(n: number, k: number): number {
  let r = 1
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i
  return Math.round(r)
}

/** The built-in margins with another p50 margin, for raw and drift-normalized figures alike. */
function bookWith(builtIn: Readonly<MetricMargins>, p50Relative: number): MarginBook {
  const withP50 = (m: Readonly<MetricMargins>) => ({ ...m, p50: { ...m.p50, relative: p50Relative } })
  return new MarginBook(undefined, `p50 margin ${Math.round(p50Relative * 100)} %`, withP50(builtIn), withP50(NORMALIZED_MARGINS))
}

function splitId(id: string): [string, string] {
  const at = id.indexOf(' > ')
  if (at < 0) throw new Error(`--bench ${id}: expected "<file> > <bench>", e.g. "e2e-latency > e2e linear"`)
  return [id.slice(0, at), id.slice(at + 3)]
}

function median(values: readonly number[]): number {
  if (values.length === 0) return NaN
  const s = [...values].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

const unique = (xs: readonly number[]) => [...new Set(xs)].sort((a, b) => a - b)
