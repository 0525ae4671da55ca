/**
 * The comparison's settings: BENCH_BASELINE, BENCH_REGRESSION, BENCH_MARGINS_FILE, BENCH_GATE. Read through
 * loadSettings() once harness/config/settings.ts declares them; until then straight from the environment,
 * validated here the same way (one line naming the variable, the value and what is accepted).
 */
import path from 'node:path'
import { ConfigError, loadSettings, type LoadOptions, type Settings } from '../../config/settings.ts'
import { HEADLINE_GATES, parseGates, type Gate } from './gating.ts'

export type RegressionPolicy = 'blocking' | 'informational'

export interface CompareSettings {
  /** absolute path of the results file to compare the run with; undefined: no comparison */
  baseline: string | undefined
  /** blocking: a regression fails the run (exit code 1); informational: it is only reported */
  regression: RegressionPolicy
  /** absolute path of the margins file (it may not exist: then the built-in margins apply) */
  marginsFile: string
  /** the margins file as configured, for messages */
  marginsFileSetting: string
  /** benches that gate: the headline benches and BENCH_GATE's */
  gates: Gate[]
  /** show progress of long work (always, except in CI unless BENCH_VERBOSE) */
  progress: boolean
  root: string
}

export const COMPARE_VARIABLES = {
  BENCH_BASELINE: 'results file to compare each run with (e.g. benchmarks/baselines/main.json); empty: no comparison',
  BENCH_REGRESSION: 'blocking (default): a regression fails the run; informational: only report it',
  BENCH_MARGINS_FILE: 'per-bench regression margins (default fixtures/margins.yaml; built-in margins when absent)',
  BENCH_GATE: "more benches that gate, 'file/bench=metric; …' (the headline benches always gate)",
} as const

export const DEFAULT_MARGINS_FILE = 'fixtures/margins.yaml'

type WithCompareVariables = Settings & Partial<Record<keyof typeof COMPARE_VARIABLES, unknown>>

export function loadCompareSettings(options: LoadOptions = {}): CompareSettings {
  const env = options.env ?? process.env
  const root = options.root ?? process.cwd()
  const settings = loadSettings({ env, root }) as WithCompareVariables
  const raw = (name: keyof typeof COMPARE_VARIABLES): string | undefined => {
    const value = name in settings ? settings[name] : env[name]
    return value === undefined || value === null || value === '' ? undefined : String(value)
  }
  const regression = raw('BENCH_REGRESSION') ?? 'blocking'
  if (regression !== 'blocking' && regression !== 'informational') {
    throw new ConfigError(`BENCH_REGRESSION=${regression} is not one of blocking|informational`)
  }
  const baseline = raw('BENCH_BASELINE')
  const marginsFileSetting = raw('BENCH_MARGINS_FILE') ?? DEFAULT_MARGINS_FILE
  return {
    baseline: baseline === undefined ? undefined : path.resolve(root, baseline),
    regression,
    marginsFile: path.resolve(root, marginsFileSetting),
    marginsFileSetting,
    gates: [...HEADLINE_GATES, ...parseGates(raw('BENCH_GATE'))],
    progress: !settings.ci || settings.BENCH_VERBOSE,
    root,
  }
}
