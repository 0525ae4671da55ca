/**
 * Write the reports of one run again, e.g. of an older results file:
 *
 *   node scripts/bench-report.ts [<results.json>] [--out <dir>]
 *
 * <results.json>  default: <BENCH_RESULTS_DIR>/latest.json
 * --out <dir>     default: the results file's directory
 *
 * Writes summary.md, report.html, bmf.json and benchmark-action.json and prints their paths. To
 * compare with a baseline use scripts/bench-compare.ts. Exit codes: 0 written, 2 bad arguments or
 * an unreadable results file.
 */
import path from 'node:path'
import { parseArgs } from 'node:util'
import { loadSettings } from '../harness/config/settings.ts'
import { readResultsFile } from '../harness/results/read.ts'
import { shownPath } from '../harness/offline/report/terminal.ts'
import { writeReports } from '../harness/offline/report/write-reports.ts'
import { runCommand } from '../harness/offline/compare/command-line.ts'

const ROOT = path.resolve(import.meta.dirname, '..')

function main(): number {
  const { values, positionals } = parseArgs({ options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true })
  if (values.help || positionals.length > 1) {
    console.log('usage: node scripts/bench-report.ts [<results.json>] [--out dir]')
    return values.help ? 0 : 2
  }
  const file = path.resolve(positionals[0] ?? path.join(ROOT, loadSettings({ root: ROOT }).BENCH_RESULTS_DIR, 'latest.json'))
  const paths = writeReports(path.resolve(values.out ?? path.dirname(file)), { current: readResultsFile(file) })
  console.log(`reports: ${[paths.html, paths.markdown, paths.bmf, paths.benchmarkAction].map((p) => shownPath(p)).join(', ')}`)
  return 0
}

runCommand('bench-report', main)
