/**
 * Compare a run with a baseline (two results files) and write the reports.
 *
 *   node scripts/bench-compare.ts <baseline.json> [<current.json>] [options]
 *
 * <current.json>          default: <BENCH_RESULTS_DIR>/latest.json
 * --out <dir>             where the reports go (default: the current file's directory)
 * --margins <file>        margins file (default: BENCH_MARGINS_FILE, else fixtures/margins.yaml); without
 *                         one the built-in margins for single runs apply, which are WIDE (margins.ts):
 *                         calibrate with npm run bench:calibrate for tighter ones
 *
 * Two single runs: first the work per task (where both files carry it) at tight margins (2 % and
 * half a unit per task): a gating bench whose statements, round trips, rows… per task grew fails,
 * and the summary leads with the SQL diff (work-compare.ts). Then each bench's time metric in one
 * run against the other (per-run statistics, never the samples pooled), the drift between runs left
 * to the margins; only the headline metric of a gating bench decides (gating.ts, BENCH_GATE).
 * --informational         report regressions without failing (also BENCH_REGRESSION=informational)
 * --ignore-environment    compare although Node, CPU, PostgreSQL… differ (they are still listed)
 * --alpha <p>             significance level of each test (default 0.01)
 *
 * Writes summary.md, report.html, bmf.json, benchmark-action.json and comparison.json, prints the
 * verdicts and the paths. Exit codes: 0 no regression (or informational), 1 regression,
 * 2 bad arguments or unreadable files.
 */
import path from 'node:path'
import { parseArgs } from 'node:util'
import { loadSettings } from '../harness/config/settings.ts'
import { compareRuns, hasRegression } from '../harness/offline/compare/compare-runs.ts'
import { loadMargins } from '../harness/offline/compare/margins.ts'
import { loadCompareSettings } from '../harness/offline/compare/settings.ts'
import { readResultsFile } from '../harness/results/read.ts'
import { comparisonLines, shownPath } from '../harness/offline/report/terminal.ts'
import { writeReports } from '../harness/offline/report/write-reports.ts'
import { runCommand } from '../harness/offline/compare/command-line.ts'

const ROOT = path.resolve(import.meta.dirname, '..')

function main(): number {
  const { values, positionals } = parseArgs({
    options: {
      out: { type: 'string' },
      margins: { type: 'string' },
      informational: { type: 'boolean' },
      'ignore-environment': { type: 'boolean' },
      alpha: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  })
  if (values.help || positionals.length === 0 || positionals.length > 2) {
    console.log('usage: node scripts/bench-compare.ts <baseline.json> [<current.json>] [--out dir] [--margins file] [--informational] [--ignore-environment] [--alpha 0.01]')
    return values.help ? 0 : 2
  }
  const alpha = values.alpha === undefined ? undefined : Number(values.alpha)
  if (alpha !== undefined && !(alpha > 0 && alpha < 0.5)) throw new Error(`--alpha ${values.alpha}: expected a number between 0 and 0.5, e.g. 0.01`)
  const settings = loadCompareSettings({ root: ROOT })
  const baselineFile = path.resolve(positionals[0]!)
  const currentFile = path.resolve(positionals[1] ?? path.join(ROOT, loadSettings({ root: ROOT }).BENCH_RESULTS_DIR, 'latest.json'))
  const out = path.resolve(values.out ?? path.dirname(currentFile))
  const marginsFile = values.margins ? path.resolve(values.margins) : settings.marginsFile
  const policy = values.informational ? 'informational' : settings.regression

  const baseline = readResultsFile(baselineFile)
  const current = readResultsFile(currentFile)
  const comparison = compareRuns(baseline, current, {
    margins: loadMargins(marginsFile, values.margins ?? settings.marginsFileSetting),
    ignoreEnvironment: Boolean(values['ignore-environment']),
    gates: settings.gates,
    labels: { baseline: 'baseline', current: 'current' },
    ...(alpha !== undefined ? { alpha } : {}),
  })
  const footer = `Baseline \`${shownPath(baselineFile)}\`, current \`${shownPath(currentFile)}\`. Charts: \`${shownPath(path.join(out, 'report.html'))}\`.`
  const paths = writeReports(out, { current, baseline, comparison, policy, footer })
  for (const line of comparisonLines(comparison, shownPath(baselineFile))) console.log(line)
  console.log(`reports: ${[paths.html, paths.markdown, paths.bmf, paths.benchmarkAction, paths.comparison!].map((p) => shownPath(p)).join(', ')}`)
  if (!hasRegression(comparison)) return 0
  if (policy === 'informational') {
    console.log('regression reported only (informational)')
    return 0
  }
  console.log('gating regression: exit code 1 (--informational or BENCH_REGRESSION=informational reports without failing)')
  return 1
}

runCommand('bench-compare', main)
