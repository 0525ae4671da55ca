/**
 * Save a run as a baseline to compare later runs with.
 *
 *   node scripts/bench-save-baseline.ts [--from <results.json>] [--name <name> | --out <file>]
 *
 * --from  the run to save (default: <BENCH_RESULTS_DIR>/latest.json, the last run)
 * --name  saves to benchmarks/baselines/<name>.json (default: main)
 * --out   saves to this path instead
 *
 * The file is validated and normalised (entries sorted by file and bench, pretty-printed), so a
 * baseline committed to the repository diffs cleanly. Compare with it:
 *   BENCH_BASELINE=benchmarks/baselines/main.json npx vitest bench
 *   node scripts/bench-compare.ts benchmarks/baselines/main.json
 * Exit codes: 0 saved, 2 bad arguments or an unreadable results file.
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { loadSettings } from '../harness/config/settings.ts'
import { readResultsFile } from '../harness/results/read.ts'
import type { ResultsDocument } from '../harness/results/schema.ts'
import { runCommand } from '../harness/offline/compare/command-line.ts'

const ROOT = path.resolve(import.meta.dirname, '..')
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/

function main(): number {
  const { values } = parseArgs({
    options: { from: { type: 'string' }, name: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: false,
  })
  if (values.help) {
    console.log('usage: node scripts/bench-save-baseline.ts [--from <results.json>] [--name <name> | --out <file>]')
    return 0
  }
  if (values.name && values.out) throw new UsageError('give --name or --out, not both')
  const name = values.name ?? 'main'
  if (!values.out && !NAME.test(name)) throw new UsageError(`--name ${name}: use letters, digits, dot, dash or underscore (it becomes benchmarks/baselines/<name>.json)`)
  const from = path.resolve(values.from ?? path.join(ROOT, loadSettings({ root: ROOT }).BENCH_RESULTS_DIR, 'latest.json'))
  const out = path.resolve(values.out ?? path.join(ROOT, 'benchmarks', 'baselines', `${name}.json`))

  const doc = normalise(readResultsFile(from))
  const missing = doc.results.filter((e) => !e.samples).length
  mkdirSync(path.dirname(out), { recursive: true })
  const existed = existsSync(out)
  const partial = `${out}.${process.pid}.tmp`
  writeFileSync(partial, `${JSON.stringify(doc, null, 2)}\n`)
  renameSync(partial, out)
  const shown = path.relative(process.cwd(), out) || out
  console.log(`${existed ? 'replaced' : 'saved'} baseline ${shown}: ${doc.results.length} measurements, commit ${doc.environment.commit}, ${doc.environment.cpuModel} × ${doc.environment.cpuCount}`)
  if (missing > 0) {
    console.log(`warning: ${missing} of ${doc.results.length} entries kept no samples, so comparisons will call them "not comparable"; re-run the benchmarks with this version and save again`)
  }
  console.log(`compare with it: BENCH_BASELINE=${shown} npx vitest bench   (or: node scripts/bench-compare.ts ${shown})`)
  return 0
}

/** Entries in a stable order, so two baselines of the same suite diff line by line. */
function normalise(doc: ResultsDocument): ResultsDocument {
  const results = [...doc.results].sort((a, b) => a.file.localeCompare(b.file) || a.bench.localeCompare(b.bench) || a.test.localeCompare(b.test))
  return { schemaVersion: doc.schemaVersion, environment: doc.environment, results }
}

class UsageError extends Error {}

runCommand('bench-save-baseline', main)
