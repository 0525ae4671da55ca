/**
 * The one place that reads the environment. Every variable the suite understands is declared in
 * `VARIABLES` with its parser and a one-line description; `loadSettings()` reads `process.env`
 * plus an optional `.env` file (dotenv; real environment wins), validates every value once and
 * returns typed, serialisable settings. An invalid value throws a ConfigError whose message is
 * one line: variable, value, what is accepted.
 */
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { parse as parseDotenv } from 'dotenv'
import { profileDefaultText } from './profile.ts'
import { redactUrl } from './credentials.ts'

export class ConfigError extends Error {
  override name = 'ConfigError'
}

type Parser<T> = (raw: string, name: string) => T

const oneOf = <const T extends string>(...choices: T[]): Parser<T> => (raw, name) => {
  if ((choices as string[]).includes(raw)) return raw as T
  throw new ConfigError(`${name}=${raw} is not one of ${choices.join('|')}`)
}

const integer = (min: number, max: number): Parser<number> => (raw, name) => {
  if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(`${name}=${raw} is not a whole number (expected ${min}..${max})`)
  const n = Number(raw)
  if (n < min || n > max) throw new ConfigError(`${name}=${raw} is out of range (expected ${min}..${max})`)
  return n
}

const decimal = (min: number, max: number): Parser<number> => (raw, name) => {
  if (!/^\d+(\.\d+)?$/.test(raw.trim())) throw new ConfigError(`${name}=${raw} is not a number (expected ${min}..${max}, decimals allowed)`)
  const n = Number(raw)
  if (n < min || n > max) throw new ConfigError(`${name}=${raw} is out of range (expected ${min}..${max})`)
  return n
}

const bool: Parser<boolean> = (raw, name) => {
  const v = raw.trim().toLowerCase()
  if (['1', 'true', 'yes', 'on'].includes(v)) return true
  if (['0', 'false', 'no', 'off'].includes(v)) return false
  throw new ConfigError(`${name}=${raw} is not a boolean (expected true|false)`)
}

const text: Parser<string> = (raw) => raw

/** A value that is safe as a container label and in a `docker ps --filter label=…`. */
const label: Parser<string> = (raw, name) => {
  if (/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/.test(raw)) return raw
  throw new ConfigError(`${name}=${raw} is not a label value (expected 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit)`)
}

/** The protocols a URL setting accepts, attached to its parser so urlVariables() can find it. */
const URL_PROTOCOLS = Symbol('url protocols')

const url = (...protocols: string[]): Parser<string> => Object.assign(parseUrl(protocols), { [URL_PROTOCOLS]: protocols })

const parseUrl = (protocols: string[]): Parser<string> => (raw, name) => {
  let parsed: URL
  try {
    parsed = new URL(raw)
  } catch {
    throw new ConfigError(`${name} is not a valid URL (expected ${protocols.join(' or ')}//host:port/…): ${redactUrl(raw)}`)
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${name} has protocol ${parsed.protocol} (expected ${protocols.join(' or ')}): ${redactUrl(raw)}`)
  }
  return raw
}

const intList = (min: number, max: number): Parser<number[]> => (raw, name) => {
  const parts = raw.split(',').map((s) => s.trim()).filter(Boolean)
  if (parts.length === 0) throw new ConfigError(`${name}=${raw} is empty (expected a comma-separated list such as 1000,10000)`)
  return parts.map((p) => integer(min, max)(p, name))
}

/** `1x1,1x2,2x4`: orchestrators × workers per topology, each 1–8 and 1–32. */
const scalingGrid: Parser<[number, number][]> = (raw, name) => {
  const cells = raw.split(',').map((c) => c.trim()).filter(Boolean)
  if (cells.length === 0) throw new ConfigError(`${name}=${raw} is empty (expected topologies orchestrators x workers, e.g. 1x1,1x2,2x2,2x4)`)
  return cells.map((cell) => {
    const m = /^(\d+)\s*[x×]\s*(\d+)$/.exec(cell)
    if (!m) throw new ConfigError(`${name}: "${cell}" is not orchestrators x workers (e.g. 2x4)`)
    return [integer(1, 8)(m[1]!, `${name} (orchestrators of ${cell})`), integer(1, 32)(m[2]!, `${name} (workers of ${cell})`)]
  })
}

/** Never print a password (harness/config/credentials.ts); exported here too, where the URL settings are. */
export { redactUrl }

interface Variable<T> {
  parse: Parser<T>
  default: T
  describe: string
}

const v = <T>(parse: Parser<T>, def: T, describe: string): Variable<T> => ({ parse, default: def, describe })

/** Every variable the suite reads. `.env.example` documents each one (a test keeps them in sync). */
export const VARIABLES = {
  BENCH_PROFILE: v(oneOf('full', 'smoke'), 'full', 'full: the real measurement; smoke: few samples and relaxed budgets, so every bench runs once in CI'),
  BENCH_POSTGRES: v(oneOf('auto', 'embedded', 'container', 'external'), 'auto', 'where PostgreSQL comes from'),
  DATABASE_URL: v<string | undefined>(url('postgres:', 'postgresql:'), undefined, 'external PostgreSQL (selects external mode under auto)'),
  PG_BIN_DIR: v<string | undefined>(text, undefined, 'directory with initdb and postgres for embedded mode (default: the npm-shipped binaries)'),
  PGMQ_SOURCE_DIR: v<string | undefined>(text, undefined, 'a pgmq checkout (e.g. v1.5.1): embedded mode installs its extension (PostgreSQL 18) instead of the compatible layer'),
  BENCH_PG_IMAGE: v(text, 'ghcr.io/pgmq/pg18-pgmq:v1.7.0', 'image for container mode'),
  BENCH_ORCHESTRATOR: v(oneOf('auto', 'embedded', 'compose', 'external', 'off'), 'auto', 'where the orchestrator under test comes from'),
  TASKER_ORCHESTRATION_URL: v<string | undefined>(url('http:', 'https:'), undefined, 'external orchestration API (selects external mode under auto)'),
  BENCH_WORKERS: v(integer(1, 32), 2, 'worker processes the embedded orchestrator starts'),
  BENCH_ORCHESTRATORS: v(integer(1, 8), 1, 'orchestration instances the embedded or compose orchestrator starts (several coordinate in the database; embedded: behind a loopback round-robin front; compose: --scale orchestration=N on one port)'),
  BENCH_RESULTS_DIR: v(text, 'results', 'where result files, logs and plans are written'),
  BENCH_BUDGETS_FILE: v(text, 'fixtures/budgets.yaml', 'budget (threshold) file'),
  BENCH_BUDGETS: v<string | undefined>(text, undefined, "budget overrides: 'event-propagation/notify small payload=p(95)<5,p(99)<10; e2e-latency/*=p(99)<1000'"),
  BENCH_BUDGET_SCALE: v<number | undefined>((raw, name) => {
    const n = Number(raw)
    if (!Number.isFinite(n) || n <= 0) throw new ConfigError(`${name}=${raw} is not a positive number`)
    return n
  }, undefined, `multiply every budget limit (${profileDefaultText('BENCH_BUDGET_SCALE')})`),
  BENCH_TRACES: v(oneOf('auto', 'embedded', 'jaeger', 'tempo', 'off'), 'auto', 'where spans are collected for the worker-level breakdown'),
  BENCH_TRACES_URL: v<string | undefined>(url('http:', 'https:'), undefined, 'Jaeger query or Tempo URL for the jaeger/tempo trace modes'),
  BENCH_E2E_SAMPLES: v<number | undefined>(integer(1, 100_000), undefined, `tasks per end-to-end scenario (${profileDefaultText('BENCH_E2E_SAMPLES')})`),
  BENCH_COMPLETION: v(oneOf('auto', 'event', 'poll'), 'auto', 'how the end-to-end bench detects completion'),
  BENCH_POLL_INTERVAL_MS: v(integer(1, 10_000), 50, 'poll interval for poll completion mode'),
  BENCH_SQL_SCALES: v<number[] | undefined>(intList(10, 1_000_000), undefined, `dataset sizes (tasks) for the SQL bench (${profileDefaultText('BENCH_SQL_SCALES')})`),
  BENCH_LOAD_RATES: v<number[] | undefined>(intList(1, 10_000), undefined, `arrival rates (tasks/s) of the open-model load bench (${profileDefaultText('BENCH_LOAD_RATES')})`),
  BENCH_LOAD_SECONDS: v<number | undefined>(integer(1, 600), undefined, `how long each load rate is held (s) (${profileDefaultText('BENCH_LOAD_SECONDS')})`),
  BENCH_SCALING: v(bool, false, 'run the scaling bench (benchmarks/scaling.bench.ts): a grid of orchestrators × workers, each started afresh; off by default in every profile'),
  BENCH_SCALING_GRID: v<[number, number][]>(scalingGrid, [[1, 1], [1, 2], [2, 2], [2, 4]], "the scaling bench's topologies, orchestrators x workers, e.g. 1x1,1x2,2x2,2x4"),
  BENCH_SCALING_RATE: v(integer(1, 10_000), 20, 'the fixed offered rate (tasks/s) at which the scaling bench measures latency in each topology'),
  BENCH_TOPOLOGY: v<string | undefined>(text, undefined, "an external deployment's topology as you scaled it (e.g. 2x4 or 'orchestration=2 worker=4'): the scaling bench measures it once and reports it"),
  BENCH_TEMPLATES_DIR: v(text, 'fixtures/templates', 'task templates the benches create tasks from (a deployment may name its own)'),
  BENCH_SEED: v(bool, false, 'allow scratch databases on the server of an external DATABASE_URL (the database itself is never changed)'),
  BENCH_CREATE_TASKS: v(bool, false, 'allow the benches to create tasks through an external TASKER_ORCHESTRATION_URL (they run on the deployment and stay in its database)'),
  BENCH_BASELINE: v<string | undefined>(text, undefined, 'results file to compare each run with, e.g. benchmarks/baselines/main.json'),
  BENCH_REGRESSION: v(oneOf('blocking', 'informational'), 'blocking', 'blocking: a regression fails the run; informational: only report it'),
  BENCH_MARGINS_FILE: v(text, 'fixtures/margins.yaml', 'per-bench regression margins (built-in defaults when the file is absent)'),
  BENCH_GATE: v<string | undefined>(text, undefined, "more benches that gate a comparison, 'file/bench=metric; …' (the headline benches always gate)"),
  BENCH_WORKER_STEP_DELAY_MS: v(decimal(0, 10_000), 0, 'experiment knob, never for a real measurement: embedded workers wait this long (ms, decimals allowed) before every handler; npm run bench:power injects slowdowns with it'),
  BENCH_WORKER_EXTRA_STATEMENTS: v(integer(0, 10), 0, 'experiment knob, never for a real measurement: embedded workers run this many extra statements (a lookup of the step) after every handler; npm run bench:power -- --work injects work with it'),
  BENCH_VERBOSE: v(bool, false, 'progress and child-process logs on the console (progress is quiet in CI otherwise)'),
  BENCH_STATEMENT_TIMEOUT_MS: v(integer(100, 86_400_000), 120_000, 'longest a statement of the suite may run (PostgreSQL statement_timeout on every connection)'),
  BENCH_LOCK_TIMEOUT_MS: v(integer(100, 86_400_000), 30_000, 'longest a statement of the suite may wait for a lock (PostgreSQL lock_timeout on every connection)'),
  BENCH_CONNECT_TIMEOUT_MS: v(integer(100, 600_000), 10_000, 'longest a PostgreSQL connection or an HTTP connection may take to open'),
  BENCH_HTTP_TIMEOUT_MS: v(integer(100, 600_000), 30_000, 'longest an HTTP call to the orchestrator API may wait for its answer'),
  BENCH_SETUP_STATEMENT_TIMEOUT_MS: v(integer(1_000, 86_400_000), 3_600_000, 'statement_timeout of set-up work that legitimately runs long (dataset seeding at 100K tasks, migrations)'),
  BENCH_IDLE_TIMEOUT_MS: v(integer(0, 3_600_000), 120_000, 'longest a bench waits for the orchestrator to be idle (no task in flight, queues empty) before its first sample; 0: do not wait'),
  BENCH_RUN_ID: v<string | undefined>(label, undefined, 'labels every container the run starts (tasker-bench.run=<id>; default one id per process), so a cleanup can remove only its own'),
} as const

/** Every URL-typed variable and its protocols (a URL may carry a password: print it redacted). */
export function urlVariables(): Array<{ name: keyof typeof VARIABLES; protocols: string[] }> {
  return (Object.entries(VARIABLES) as [keyof typeof VARIABLES, Variable<unknown>][]).flatMap(([name, spec]) => {
    const protocols = (spec.parse as Parser<unknown> & { [URL_PROTOCOLS]?: string[] })[URL_PROTOCOLS]
    return protocols ? [{ name, protocols }] : []
  })
}

type Vars = typeof VARIABLES
export type Settings = { [K in keyof Vars]: Vars[K] extends Variable<infer T> ? T : never } & {
  /** where the values came from, for the one-line mode explanations */
  envFile: string | undefined
  root: string
  ci: boolean
}

/** Lines of a .env file that are neither blank, comments nor KEY=value. */
function checkDotenvSyntax(file: string, content: string): void {
  content.split(/\r?\n/).forEach((line, i) => {
    const t = line.trim()
    if (t === '' || t.startsWith('#')) return
    if (!/^(export\s+)?[A-Za-z_][A-Za-z0-9_]*\s*=/.test(t)) {
      throw new ConfigError(`${file}:${i + 1}: expected KEY=value, got: ${t.slice(0, 60)}`)
    }
  })
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv
  /** project root; .env is read from here unless BENCH_ENV_FILE names another file */
  root?: string
}

export function loadSettings(options: LoadOptions = {}): Settings {
  const env = options.env ?? process.env
  const root = options.root ?? process.cwd()
  const envFile = env.BENCH_ENV_FILE ? path.resolve(root, env.BENCH_ENV_FILE) : path.join(root, '.env')
  let fromFile: Record<string, string> = {}
  let usedFile: string | undefined
  if (existsSync(envFile)) {
    const content = readFileSync(envFile, 'utf8')
    checkDotenvSyntax(envFile, content)
    fromFile = parseDotenv(content)
    usedFile = envFile
    for (const key of Object.keys(fromFile)) {
      if (key.startsWith('BENCH_') && !(key in VARIABLES) && key !== 'BENCH_ENV_FILE') {
        throw new ConfigError(`${envFile}: ${key} is not a known variable (see .env.example)${suggest(key)}`)
      }
    }
  } else if (env.BENCH_ENV_FILE) {
    throw new ConfigError(`BENCH_ENV_FILE=${env.BENCH_ENV_FILE}: no such file`)
  }

  const settings: Record<string, unknown> = { envFile: usedFile, root, ci: Boolean(env.CI && env.CI !== 'false') }
  for (const [name, spec] of Object.entries(VARIABLES) as [string, Variable<unknown>][]) {
    const raw = env[name] ?? fromFile[name]
    settings[name] = raw === undefined || raw === '' ? spec.default : spec.parse(raw, name)
  }
  return settings as Settings
}

function suggest(key: string): string {
  const known = Object.keys(VARIABLES)
  const close = known.find((k) => k.startsWith(key.slice(0, Math.max(8, key.length - 3))))
  return close ? `; did you mean ${close}?` : ''
}

/** Unknown BENCH_* variables in the real environment: probably typos, worth one warning line. */
export function unknownBenchVariables(env: NodeJS.ProcessEnv = process.env): string[] {
  return Object.keys(env).filter((k) => k.startsWith('BENCH_') && !(k in VARIABLES) && k !== 'BENCH_ENV_FILE')
}

