/**
 * Budgets from the budget file (BENCH_BUDGETS_FILE, YAML) plus the BENCH_BUDGETS overrides,
 * scaled by BENCH_BUDGET_SCALE. Everything is validated here, once, so a typo fails the run with
 * a message naming the file or variable, the key and the expression.
 *
 * File format (see fixtures/budgets.yaml): bench file stem → bench name or `*` → list of
 * expressions. Overrides: `BENCH_BUDGETS='<file>/<bench name>=expr,expr; <file>/*=expr'`; an
 * override replaces that key's list from the file (an empty list removes its budgets).
 *
 * Scaling (default 1, and 10 in the smoke profile) relaxes every latency budget by the same
 * factor: upper limits (`<`, `<=`) are multiplied by it, lower limits (`>`, `>=`) divided by it.
 * `==` budgets, `count` budgets (a number of samples, not a latency), work budgets
 * (`statements/task<40`: counts per task) and targets are never scaled.
 */
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { parseDocument } from 'yaml'
import { ConfigError, type Settings } from '../../config/settings.ts'
import { profileValue } from '../../config/profile.ts'
import { BudgetSyntaxError, parseBudgetExpression, type BudgetExpression } from './parse.ts'

export type BudgetSettings = Pick<Settings, 'BENCH_BUDGETS_FILE' | 'BENCH_BUDGETS' | 'BENCH_BUDGET_SCALE' | 'BENCH_PROFILE' | 'root'>

/** Key that applies a list to every bench of a file. */
export const EVERY_BENCH = '*'

/** A bench file stem as used for keys: `event-propagation` for benchmarks/event-propagation.bench.ts. */
const FILE_STEM = /^[A-Za-z0-9][A-Za-z0-9._-]*$/

type Entries = Map<string, Map<string, BudgetExpression[]>>

export class BudgetBook {
  readonly #entries: Entries
  /** the factor every scalable limit was scaled by */
  readonly scale: number

  constructor(entries: Entries, scale = 1) {
    this.#entries = entries
    this.scale = scale
  }

  /**
   * The budgets of one bench: those listed under its exact name plus those under `*`. An
   * exact-name budget on a metric replaces the `*` budgets on that metric, so one bench can be
   * given a looser (or tighter) p(95) than the rest of its file. Budgets and targets are kept
   * apart: an exact-name target replaces only `*` targets, never a `*` budget (a target fails
   * nothing, so letting it displace a budget would silently delete that budget).
   */
  for(fileStem: string, benchName: string): BudgetExpression[] {
    const file = this.#entries.get(fileStem)
    if (!file) return []
    const exact = benchName === EVERY_BENCH ? [] : (file.get(benchName) ?? [])
    const named = new Set(exact.map(metricKind))
    const every = (file.get(EVERY_BENCH) ?? []).filter((b) => !named.has(metricKind(b)))
    return [...every, ...exact]
  }

  /** Bench names with budgets of their own in a file (not `*`), to spot keys that match nothing. */
  benchNames(fileStem: string): string[] {
    return [...(this.#entries.get(fileStem)?.keys() ?? [])].filter((k) => k !== EVERY_BENCH)
  }

  fileStems(): string[] {
    return [...this.#entries.keys()]
  }

  /** Plain data, to hand the run's book from the global setup to the bench workers and the reporter. */
  toData(): BudgetBookData {
    const entries: BudgetBookData['entries'] = {}
    for (const [stem, benches] of this.#entries) entries[stem] = Object.fromEntries(benches)
    return { scale: this.scale, entries }
  }

  static fromData(data: BudgetBookData): BudgetBook {
    const entries: Entries = new Map(Object.entries(data.entries).map(([stem, benches]) => [stem, new Map(Object.entries(benches))]))
    return new BudgetBook(entries, data.scale)
  }
}

const books = new WeakMap<BudgetBookData, BudgetBook>()

/** The run's book from what the global setup handed on (`run.budgets`), rebuilt once per worker. */
export function runBudgets(run: { budgets: BudgetBookData }): BudgetBook {
  let book = books.get(run.budgets)
  if (!book) books.set(run.budgets, (book = BudgetBook.fromData(run.budgets)))
  return book
}

/** A BudgetBook as JSON-serialisable data (what `run.budgets` carries). */
export interface BudgetBookData {
  scale: number
  /** bench file stem → bench name or `*` → its budgets, loaded, overlaid and scaled */
  entries: Record<string, Record<string, BudgetExpression[]>>
}

/** What an exact-name entry replaces in `*`: the same metric, and budgets only by budgets, targets only by targets. */
const metricKind = (b: BudgetExpression) => `${b.target ? 'target' : 'budget'} ${b.metric}`

export function budgetScale(settings: Pick<Settings, 'BENCH_BUDGET_SCALE' | 'BENCH_PROFILE'>): number {
  return profileValue(settings, 'BENCH_BUDGET_SCALE')
}

/** The reference orchestrator is held to its own, tighter targets than the portable defaults. */
export const REFERENCE_BUDGETS = 'fixtures/budgets.reference.yaml'

export function budgetOverlays(orchestratorMode: string): string[] {
  return orchestratorMode === 'embedded' ? [REFERENCE_BUDGETS] : []
}

/**
 * The run's budgets: the budget file, the overlays for the orchestrator under test, the
 * overrides and the scale. The global setup calls it once per run and hands the book on
 * (`run.budgets`): the bench workers' verdicts and the written results read the same book.
 */
export function loadRunBudgets(settings: BudgetSettings, orchestratorMode: string): BudgetBook {
  return loadBudgets(settings, { overlays: budgetOverlays(orchestratorMode) })
}

export interface LoadBudgetOptions {
  /**
   * Budget files laid over the main one (same format; a bench's list replaces the main file's).
   * The global setup adds fixtures/budgets.reference.yaml when the orchestrator under test is the
   * project's own reference orchestrator, whose budgets are tighter than the portable defaults.
   * An overlay may only tighten: one that loosens or drops a budget is a ConfigError.
   */
  overlays?: string[]
}

export function loadBudgets(settings: BudgetSettings, options: LoadBudgetOptions = {}): BudgetBook {
  const file = path.resolve(settings.root, settings.BENCH_BUDGETS_FILE)
  const shown = displayPath(settings.root, file)
  if (!existsSync(file)) {
    throw new ConfigError(`BENCH_BUDGETS_FILE=${settings.BENCH_BUDGETS_FILE}: no such file (${file}); create it or point BENCH_BUDGETS_FILE at a budget file`)
  }
  const entries = parseBudgetFile(readFileSync(file, 'utf8'), shown)
  for (const overlay of options.overlays ?? []) {
    const overlayFile = path.resolve(settings.root, overlay)
    const overlayShown = displayPath(settings.root, overlayFile)
    const before = new BudgetBook(copyEntries(entries))
    const laid = parseBudgetFile(readFileSync(overlayFile, 'utf8'), overlayShown)
    for (const [stem, benches] of laid) {
      applyOverrides(entries, [...benches].map(([bench, budgets]) => ({ file: stem, bench, budgets })))
    }
    assertOnlyTightens(before, new BudgetBook(entries), [...laid.keys()], overlayShown)
  }
  if (settings.BENCH_BUDGETS) applyOverrides(entries, parseBudgetOverrides(settings.BENCH_BUDGETS))
  const scale = budgetScale(settings)
  if (scale !== 1) {
    for (const file of entries.values()) {
      for (const [bench, list] of file) file.set(bench, list.map((b) => scaleBudget(b, scale)))
    }
  }
  return new BudgetBook(entries, scale)
}

function copyEntries(entries: Entries): Entries {
  return new Map([...entries].map(([stem, benches]) => [stem, new Map(benches)]))
}

/**
 * An overlay may only tighten: every budget in force before it (for every bench it could affect,
 * `*` included) must still be in force after it, with a limit at least as strict. A looser limit,
 * or a budget the overlay's list leaves out, is a ConfigError naming the overlay, the bench, the
 * metric and both limits. Targets fail nothing, so they may change freely.
 */
function assertOnlyTightens(before: BudgetBook, after: BudgetBook, stems: readonly string[], overlayShown: string): void {
  for (const stem of stems) {
    const benches = new Set([EVERY_BENCH, ...before.benchNames(stem), ...after.benchNames(stem)])
    for (const bench of benches) {
      const now = after.for(stem, bench).filter((b) => !b.target)
      for (const was of before.for(stem, bench).filter((b) => !b.target)) {
        const same = now.filter((b) => b.metric === was.metric && direction(b) === direction(was))
        if (same.some((b) => atLeastAsStrict(b, was))) continue
        const where = `${overlayShown}: ${stem} > ${bench}`
        const origin = `${was.text} (${was.where})`
        if (same.length === 0) {
          throw new ConfigError(
            `${where}: drops the budget ${origin}; an overlay may only tighten budgets, and its list replaces the bench's whole list: keep ${was.metric} at ${was.operator} ${was.writtenLimit} or stricter`,
          )
        }
        const stated = same.map((b) => `${b.metric}${b.operator}${b.writtenLimit}`).join(', ')
        throw new ConfigError(
          `${where}: ${stated} is looser than ${origin}; an overlay may only tighten budgets: use ${was.metric} ${was.operator} ${was.writtenLimit} or stricter`,
        )
      }
    }
  }
}

const direction = (b: BudgetExpression) => (b.operator === '<' || b.operator === '<=' ? 'upper' : b.operator === '==' ? 'exact' : 'lower')

/** Whether `b` admits no value that `was` rejects (same metric and direction). */
function atLeastAsStrict(b: BudgetExpression, was: BudgetExpression): boolean {
  switch (direction(was)) {
    case 'upper':
      return b.writtenLimit < was.writtenLimit || (b.writtenLimit === was.writtenLimit && (b.operator === '<' || was.operator === '<='))
    case 'lower':
      return b.writtenLimit > was.writtenLimit || (b.writtenLimit === was.writtenLimit && (b.operator === '>' || was.operator === '>='))
    default:
      return b.writtenLimit === was.writtenLimit
  }
}

/** Relax a budget by `scale` (see the module comment for which limits move and how). */
export function scaleBudget(budget: BudgetExpression, scale: number): BudgetExpression {
  if (budget.unit !== 'ms' || budget.operator === '==' || budget.target || budget.finding) return budget
  const limit = budget.operator === '<' || budget.operator === '<=' ? budget.writtenLimit * scale : budget.writtenLimit / scale
  return { ...budget, limit, scale }
}

/** The budget file's content → entries; `shown` is the file name used in messages. */
export function parseBudgetFile(content: string, shown: string): Entries {
  const doc = parseDocument(content, { uniqueKeys: true })
  if (doc.errors.length > 0) {
    const bareStar = /^\s*\*\s*:/m.test(content) ? ` (write the every-bench key quoted, '*':, since a bare * is YAML alias syntax)` : ''
    throw new ConfigError(`${shown}: invalid YAML: ${doc.errors[0]!.message.split('\n')[0]!.replace(/:\s*$/, '')}${bareStar}`)
  }
  const root: unknown = doc.toJS()
  const entries: Entries = new Map()
  if (root === null || root === undefined) return entries
  if (!isMapping(root)) {
    throw new ConfigError(`${shown}: expected a mapping of bench files to benches (e.g. "event-propagation:" then "  '*': [p(95)<10]"), got ${describe(root)}`)
  }
  for (const [stem, benches] of Object.entries(root)) {
    if (!FILE_STEM.test(stem)) {
      throw new ConfigError(`${shown}: "${stem}" is not a bench file name; use the file name without .bench.ts (e.g. event-propagation)`)
    }
    const file = new Map<string, BudgetExpression[]>()
    entries.set(stem, file)
    if (benches === null) continue
    if (!isMapping(benches)) {
      throw new ConfigError(`${shown}: ${stem}: expected a mapping of bench names (or '*') to lists of budgets, got ${describe(benches)}`)
    }
    for (const [bench, list] of Object.entries(benches)) {
      const where = `${shown}: ${stem} > ${bench}`
      if (list === null) {
        file.set(bench, [])
        continue
      }
      if (!Array.isArray(list)) {
        throw new ConfigError(`budget ${where}: expected a list of expressions such as [p(95)<10, p(99)<20], got ${describe(list)}`)
      }
      file.set(
        bench,
        list.map((item) => {
          // `- scaling: exponent<0.2` and `- probe: pass` are one-key mappings in YAML
          if (isMapping(item) && Object.keys(item).length === 1 && /^(target\s+)?(scaling|probe)$/.test(Object.keys(item)[0]!)) {
            const [[k, v]] = Object.entries(item)
            return parseAsConfig(`${k}: ${String(v)}`, where)
          }
          if (typeof item !== 'string') {
            throw new ConfigError(`budget ${where}: ${JSON.stringify(item)} is not an expression (expected e.g. p(95)<10, avg<5, max<100, count>=1000)`)
          }
          return parseAsConfig(item, where)
        }),
      )
    }
  }
  return entries
}

export interface BudgetOverride {
  file: string
  bench: string
  budgets: BudgetExpression[]
}

/** `event-propagation/small payload=p(95)<5,p(99)<10; e2e-latency/*=p(99)<1000` */
export function parseBudgetOverrides(raw: string): BudgetOverride[] {
  const overrides: BudgetOverride[] = []
  for (const entry of raw.split(';').map((s) => s.trim()).filter(Boolean)) {
    const eq = entry.indexOf('=')
    const key = eq > 0 ? entry.slice(0, eq) : ''
    const slash = key.indexOf('/')
    const file = key.slice(0, Math.max(slash, 0)).trim()
    const bench = key.slice(slash + 1).trim()
    if (eq <= 0 || slash <= 0 || !FILE_STEM.test(file) || bench === '') {
      throw new ConfigError(
        `BENCH_BUDGETS: "${entry}" is not <file>/<bench name>=<expr>,<expr> (e.g. 'event-propagation/small payload=p(95)<5; e2e-latency/*=p(99)<1000')`,
      )
    }
    const where = `BENCH_BUDGETS ${file} > ${bench}`
    const budgets = entry
      .slice(eq + 1)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((text) => parseAsConfig(text, where))
    overrides.push({ file, bench, budgets })
  }
  return overrides
}

function applyOverrides(entries: Entries, overrides: readonly BudgetOverride[]): void {
  for (const o of overrides) {
    let file = entries.get(o.file)
    if (!file) entries.set(o.file, (file = new Map()))
    file.set(o.bench, o.budgets)
  }
}

function parseAsConfig(text: string, where: string): BudgetExpression {
  try {
    return parseBudgetExpression(text, where)
  } catch (err) {
    if (err instanceof BudgetSyntaxError) throw new ConfigError(err.message)
    throw err
  }
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list'
  if (value === null) return 'nothing'
  return typeof value === 'string' ? `the text "${value}"` : `${typeof value} ${JSON.stringify(value)}`
}

function displayPath(root: string, file: string): string {
  const rel = path.relative(root, file)
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file
}
