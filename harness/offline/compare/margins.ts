/**
 * Regression margins: how much worse a metric must be, relatively AND absolutely, before a change
 * that stands out from the sampling noise counts as a regression. The margins are what protects a
 * check from the machine's drift between runs, which the samples of one run cannot show.
 *
 * Two sets of built-in defaults, because the two ways of comparing see different drift:
 *   - single runs (bench:compare, BENCH_BASELINE): a run against a baseline run made at another
 *     time. Without calibration the defaults are WIDE (BASELINE_MARGINS: p50 25 %, p95 40 %, p99
 *     60 %): wider than the +14 % two runs of one commit a minute apart were seen to differ here, so
 *     only large regressions are caught — and under heavy neighbour load even they are not wide
 *     enough (docs/regression-checks.md: the power table). The output says when these defaults decided. `npm run bench:calibrate` measures the drift of the machine
 *     that compares and writes per-bench margins into the margins file, which then decide.
 *   - interleaved A/B rounds (bench:ab): the effect is estimated within adjacent base/head pairs and
 *     combined over the rounds (paired-effect.ts), so most drift cancels; PAIRED_MARGINS are
 *     narrower, chosen from the power experiment (npm run bench:power, docs/regression-checks.md).
 *
 * The margins file (YAML, BENCH_MARGINS_FILE, written by scripts/bench-calibrate.ts or by hand)
 * overrides the defaults per bench file and per bench:
 *
 *   defaults:                      # every bench (overrides the built-in defaults)
 *     p50: { relative: 0.10, absoluteMs: 0.05 }
 *   benches:
 *     event-propagation:           # bench file stem, as in the budget file
 *       '*':                       # every bench of that file
 *         p95: { relative: 0.25 }
 *       notify small payload:      # one bench, by the name in Vitest's table
 *         p50: { relative: 0.12, absoluteMs: 0.08 }
 *
 * `relative` is a fraction (0.10 = 10 %), `absoluteMs` milliseconds. Each level overrides only
 * the fields it names.
 */
import { existsSync, readFileSync } from 'node:fs'
import { parseDocument } from 'yaml'
import { ConfigError } from '../../config/settings.ts'

export const COMPARED_METRICS = ['p50', 'p95', 'p99'] as const
export type ComparedMetric = (typeof COMPARED_METRICS)[number]

export interface Margin {
  /** fraction of the baseline value: 0.10 = 10 % */
  relative: number
  absoluteMs: number
}

export type MetricMargins = Record<ComparedMetric, Margin>

/** Single runs without calibration: wide, from the spread of real reruns on a busy 2-core machine (docs/regression-checks.md). */
export const BASELINE_MARGINS: Readonly<MetricMargins> = Object.freeze({
  p50: Object.freeze({ relative: 0.25, absoluteMs: 0.05 }),
  p95: Object.freeze({ relative: 0.4, absoluteMs: 0.1 }),
  p99: Object.freeze({ relative: 0.6, absoluteMs: 0.2 }),
})

/** Interleaved A/B rounds (paired): chosen from the power table of npm run bench:power (docs/regression-checks.md). */
export const PAIRED_MARGINS: Readonly<MetricMargins> = Object.freeze({
  p50: Object.freeze({ relative: 0.1, absoluteMs: 0.05 }),
  p95: Object.freeze({ relative: 0.15, absoluteMs: 0.1 }),
  p99: Object.freeze({ relative: 0.25, absoluteMs: 0.2 }),
})

/**
 * Drift-normalized figures (E2E / floor of the same run, normalized-statistic.ts), any comparison:
 * the machine's drift cancels in the ratio, so single runs need no wide margin. From 10 + 7 real
 * runs of the baselines bench here (docs/regression-checks.md): the ratio's p50 spread 3 % between runs, so two runs
 * differ by more than 12 % about once in 400 pairs, and a 30 % slower worker moves it by 25 %.
 * absoluteMs is in the ratio's own unit here (0: the relative margin decides).
 */
export const NORMALIZED_MARGINS: Readonly<MetricMargins> = Object.freeze({
  p50: Object.freeze({ relative: 0.12, absoluteMs: 0 }),
  p95: Object.freeze({ relative: 0.2, absoluteMs: 0 }),
  p99: Object.freeze({ relative: 0.4, absoluteMs: 0 }),
})

/** The defaults under a margins file: those for single runs. */
export const BUILT_IN_MARGINS = BASELINE_MARGINS

/** The key for every bench of a file. */
export const EVERY_BENCH = '*'

type PartialMargins = Partial<Record<ComparedMetric, Partial<Margin>>>

export interface MarginsSpec {
  defaults: PartialMargins
  /** file stem → bench name or '*' → margins */
  benches: Record<string, Record<string, PartialMargins>>
}

export class MarginBook {
  readonly spec: MarginsSpec
  /** where the margins came from, for reports: a path, or "built-in" */
  readonly source: string
  /** the defaults under the file's levels */
  readonly builtIn: Readonly<MetricMargins>

  /** the defaults for drift-normalized figures (ratios) */
  readonly normalized: Readonly<MetricMargins>

  constructor(spec: MarginsSpec = { defaults: {}, benches: {} }, source = 'built-in', builtIn: Readonly<MetricMargins> = BASELINE_MARGINS, normalized: Readonly<MetricMargins> = NORMALIZED_MARGINS) {
    this.spec = spec
    this.source = source
    this.builtIn = builtIn
    this.normalized = normalized
  }

  /** true when nothing but the built-in defaults decides (no margins file, or an empty one) */
  get uncalibrated(): boolean {
    return Object.keys(this.spec.defaults).length === 0 && Object.keys(this.spec.benches).length === 0
  }

  /**
   * A drift-normalized figure takes the normalized defaults and only the margins the file gives
   * that very bench: the file's defaults and `'*'` entries are milliseconds of raw figures.
   */
  for(file: string, bench: string, normalized = false): MetricMargins {
    const own = bench === EVERY_BENCH ? undefined : this.spec.benches[file]?.[bench]
    const levels = normalized ? [own] : [this.spec.defaults, this.spec.benches[file]?.[EVERY_BENCH], own]
    const out = {} as MetricMargins
    for (const metric of COMPARED_METRICS) {
      out[metric] = { ...(normalized ? this.normalized : this.builtIn)[metric] }
      for (const level of levels) Object.assign(out[metric], level?.[metric])
    }
    return out
  }
}

/** The margins file at `file`, or the built-in margins when there is none. */
export function loadMargins(file: string, shown: string = file, builtIn: Readonly<MetricMargins> = BASELINE_MARGINS): MarginBook {
  if (!existsSync(file)) return new MarginBook(undefined, 'built-in', builtIn)
  return new MarginBook(parseMarginsFile(readFileSync(file, 'utf8'), shown), shown, builtIn)
}

export function parseMarginsFile(content: string, shown: string): MarginsSpec {
  const doc = parseDocument(content, { uniqueKeys: true })
  if (doc.errors.length > 0) {
    throw new ConfigError(`${shown}: invalid YAML: ${doc.errors[0]!.message.split('\n')[0]} (quote the every-bench key: '*':)`)
  }
  const root: unknown = doc.toJS() ?? {}
  if (!isMapping(root)) throw new ConfigError(`${shown}: expected a mapping with "defaults:" and/or "benches:", got ${describe(root)}`)
  for (const key of Object.keys(root)) {
    if (key !== 'defaults' && key !== 'benches') throw new ConfigError(`${shown}: unknown key "${key}" (expected defaults or benches)`)
  }
  const spec: MarginsSpec = { defaults: parseMetricMargins(root.defaults ?? {}, `${shown}: defaults`), benches: {} }
  const benches = root.benches ?? {}
  if (!isMapping(benches)) throw new ConfigError(`${shown}: benches: expected a mapping of bench files, got ${describe(benches)}`)
  for (const [file, names] of Object.entries(benches)) {
    if (!isMapping(names)) throw new ConfigError(`${shown}: benches > ${file}: expected a mapping of bench names (or '*'), got ${describe(names)}`)
    spec.benches[file] = {}
    for (const [bench, margins] of Object.entries(names)) {
      spec.benches[file][bench] = parseMetricMargins(margins, `${shown}: benches > ${file} > ${bench}`)
    }
  }
  return spec
}

function parseMetricMargins(value: unknown, where: string): PartialMargins {
  if (!isMapping(value)) throw new ConfigError(`${where}: expected e.g. { p50: { relative: 0.1, absoluteMs: 0.05 } }, got ${describe(value)}`)
  const out: PartialMargins = {}
  for (const [metric, margin] of Object.entries(value)) {
    if (!(COMPARED_METRICS as readonly string[]).includes(metric)) {
      throw new ConfigError(`${where}: "${metric}" is not a compared metric (expected ${COMPARED_METRICS.join(' or ')})`)
    }
    if (!isMapping(margin)) throw new ConfigError(`${where} > ${metric}: expected { relative: 0.1, absoluteMs: 0.05 }, got ${describe(margin)}`)
    const parsed: Partial<Margin> = {}
    for (const [field, number] of Object.entries(margin)) {
      if (field !== 'relative' && field !== 'absoluteMs') {
        throw new ConfigError(`${where} > ${metric}: unknown field "${field}" (expected relative, a fraction such as 0.1, or absoluteMs)`)
      }
      const max = field === 'relative' ? 10 : 1e7
      if (typeof number !== 'number' || !Number.isFinite(number) || number < 0 || number > max) {
        const hint = field === 'relative' ? ' (a fraction: 0.1 = 10 %)' : ' (milliseconds)'
        throw new ConfigError(`${where} > ${metric}.${field}: ${JSON.stringify(number)} is not a number within 0..${max}${hint}`)
      }
      parsed[field] = number
    }
    out[metric as ComparedMetric] = parsed
  }
  return out
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list'
  if (value === null || value === undefined) return 'nothing'
  return typeof value === 'string' ? `the text "${value}"` : `${typeof value} ${JSON.stringify(value)}`
}
