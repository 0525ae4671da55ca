/**
 * Reading a results file back (baseline comparison, reports), validating it against schema
 * version 1 so a truncated, hand-edited or foreign file fails with the path and the field.
 * The optional `samples` of an entry are checked when present and may be absent (older files).
 */
import { readFileSync } from 'node:fs'
import { SCHEMA_VERSION, type ResultsDocument } from './schema.ts'

export class ResultsFileError extends Error {
  override name = 'ResultsFileError'
}

export function readResultsFile(file: string): ResultsDocument {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new ResultsFileError(
      code === 'ENOENT'
        ? `${file}: no such results file (run the benchmarks first, or check the path)`
        : `${file}: cannot read results file (${(err as Error).message})`,
    )
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new ResultsFileError(`${file}: not valid JSON (${(err as Error).message}); was the run interrupted while writing?`)
  }
  return validateResultsDocument(value, file)
}

const SUMMARY_NUMBERS = ['n', 'min', 'max', 'mean', 'sd', 'p50', 'p75', 'p90', 'p95', 'p99', 'p999'] as const
const ENTRY_STRINGS = ['file', 'module', 'test', 'bench', 'state'] as const
const ENVIRONMENT_STRINGS = ['node', 'platform', 'arch', 'cpuModel', 'commit', 'profile', 'timestamp'] as const

/** Checks `value` is a schema-1 results document; `where` names it in errors (usually the path). */
export function validateResultsDocument(value: unknown, where: string): ResultsDocument {
  const fail = (field: string, expected: string, got: unknown): never => {
    throw new ResultsFileError(`${where}: ${field} must be ${expected}, got ${show(got)}`)
  }
  if (!isObject(value)) fail('the document', 'a JSON object', value)
  const doc = value as Record<string, unknown>
  if (doc.schemaVersion !== SCHEMA_VERSION) {
    throw new ResultsFileError(
      `${where}: schemaVersion is ${show(doc.schemaVersion)}, this suite reads version ${SCHEMA_VERSION} (re-run the benchmarks to produce a current file)`,
    )
  }

  if (!isObject(doc.environment)) fail('environment', 'an object', doc.environment)
  const env = doc.environment as Record<string, unknown>
  for (const key of ENVIRONMENT_STRINGS) if (typeof env[key] !== 'string') fail(`environment.${key}`, 'a string', env[key])
  for (const key of ['cpuCount', 'memoryGiB'] as const) if (!isFiniteNumber(env[key])) fail(`environment.${key}`, 'a number', env[key])

  if (!Array.isArray(doc.results)) fail('results', 'an array', doc.results)
  ;(doc.results as unknown[]).forEach((entry, i) => {
    const at = `results[${i}]`
    if (!isObject(entry)) fail(at, 'an object', entry)
    const e = entry as Record<string, unknown>
    for (const key of ENTRY_STRINGS) if (typeof e[key] !== 'string') fail(`${at}.${key}`, 'a string', e[key])
    if (e.source !== 'bench' && e.source !== 'samples') fail(`${at}.source`, '"bench" or "samples"', e.source)
    if (e.unit !== 'ms') fail(`${at}.unit`, '"ms"', e.unit)
    for (const key of SUMMARY_NUMBERS) if (!isFiniteNumber(e[key])) fail(`${at}.${key}`, 'a number', e[key])
    if (typeof e.p99Meaningful !== 'boolean') fail(`${at}.p99Meaningful`, 'true or false', e.p99Meaningful)
    if (!isObject(e.extra)) fail(`${at}.extra`, 'an object', e.extra)
    if (e.samples !== undefined) checkSamples(e.samples, e.n as number, `${at}.samples`, fail)
    if (!Array.isArray(e.budgets)) fail(`${at}.budgets`, 'an array', e.budgets)
    ;(e.budgets as unknown[]).forEach((b, j) => {
      const bat = `${at}.budgets[${j}]`
      if (!isObject(b)) fail(bat, 'an object', b)
      const check = b as Record<string, unknown>
      if (typeof check.expression !== 'string') fail(`${bat}.expression`, 'a string', check.expression)
      if (typeof check.operator !== 'string') fail(`${bat}.operator`, 'a string', check.operator)
      if (!isFiniteNumber(check.limit)) fail(`${bat}.limit`, 'a number', check.limit)
      if (!isFiniteNumber(check.observed)) fail(`${bat}.observed`, 'a number', check.observed)
      if (typeof check.passed !== 'boolean') fail(`${bat}.passed`, 'true or false', check.passed)
      if (check.target !== undefined && typeof check.target !== 'boolean') fail(`${bat}.target`, 'true, false or absent', check.target)
    })
  })
  return doc as unknown as ResultsDocument
}

/** Optional retained samples (retained-samples.ts): finite, ascending, no more than n of them. */
function checkSamples(samples: unknown, n: number, at: string, fail: (field: string, expected: string, got: unknown) => never): void {
  if (!Array.isArray(samples) || samples.length === 0) fail(at, 'a non-empty array of numbers', samples)
  const list = samples as unknown[]
  if (list.length > n) fail(at, `at most n = ${n} numbers`, `${list.length} numbers`)
  for (let i = 0; i < list.length; i++) {
    if (!isFiniteNumber(list[i])) fail(`${at}[${i}]`, 'a number', list[i])
    if (i > 0 && (list[i] as number) < (list[i - 1] as number)) fail(`${at}[${i}]`, `sorted ascending (≥ ${list[i - 1]})`, list[i])
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v)
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing (missing)'
  if (Array.isArray(v)) return 'an array'
  const text = JSON.stringify(v)
  return text.length > 40 ? `${text.slice(0, 40)}…` : text
}
