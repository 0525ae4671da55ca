/**
 * Calibrate the regression margins: run the same code several times and propose, per bench and
 * metric, a margin from the spread between the runs — the 99 % prediction bound for two future
 * runs, times --safety, default 1 (harness/offline/compare/calibrate.ts has the reasoning).
 *
 *   node scripts/bench-calibrate.ts [--runs 5] [--safety 1] [--out <margins.yaml>] [--dry-run]
 *                                   [--timeout-minutes 60] [<vitest bench filters or files>…]
 *
 * Each run is a `vitest bench --run <filters>` child process with its own results directory
 * (<BENCH_RESULTS_DIR>/calibration/run-<i>, logs next to them; the directory is replaced only when
 * an earlier calibration made it, by its .tasker-bench-calibrate marker). --runs is 2..20. The margins are
 * written into the margins file (default BENCH_MARGINS_FILE, else fixtures/margins.yaml), keeping
 * other benches and comments; --dry-run only prints them. Calibrate on the machine class that
 * compares (a CI runner for CI), with the same profile. Progress goes to stderr (quiet in CI unless
 * BENCH_VERBOSE=true). Exit codes: 0 margins proposed, 1 fewer than two runs produced results,
 * 2 bad arguments.
 */
import path from 'node:path'
import { parseArgs } from 'node:util'
import { loadSettings } from '../harness/config/settings.ts'
import { runBenchChild, logTail } from '../harness/offline/compare/bench-child.ts'
import { DEFAULT_SAFETY, proposeMargins, type BenchProposal } from '../harness/offline/compare/calibrate.ts'
import { writeMarginsFile } from '../harness/offline/compare/margins-file.ts'
import { createProgress, formatDuration } from '../harness/offline/compare/progress.ts'
import { loadCompareSettings } from '../harness/offline/compare/settings.ts'
import { readResultsFile } from '../harness/results/read.ts'
import type { ResultsDocument } from '../harness/results/schema.ts'
import { formatMs } from '../harness/results/format.ts'
import { shownPath } from '../harness/offline/report/terminal.ts'
import { UsageError, runCommand, wholeNumber } from '../harness/offline/compare/command-line.ts'
import { claimDirectory } from '../harness/offline/compare/owned-directory.ts'

const ROOT = path.resolve(import.meta.dirname, '..')

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    options: {
      runs: { type: 'string', default: '5' },
      safety: { type: 'string', default: String(DEFAULT_SAFETY) },
      out: { type: 'string' },
      'dry-run': { type: 'boolean' },
      'timeout-minutes': { type: 'string', default: '60' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  })
  if (values.help) {
    console.log('usage: node scripts/bench-calibrate.ts [--runs 5] [--safety 1] [--out margins.yaml] [--dry-run] [--timeout-minutes 60] [filters…]')
    return 0
  }
  const runs = wholeNumber(values.runs, '--runs', 2, 20)
  const timeoutMinutes = wholeNumber(values['timeout-minutes'], '--timeout-minutes', 1, 24 * 60)
  const safety = Number(values.safety)
  if (!(safety >= 1 && safety <= 10)) throw new UsageError(`--safety ${values.safety}: expected a number within 1..10`)

  const settings = loadSettings({ root: ROOT })
  const compare = loadCompareSettings({ root: ROOT })
  const out = values.out ? path.resolve(values.out) : compare.marginsFile
  const workDir = path.resolve(ROOT, settings.BENCH_RESULTS_DIR, 'calibration')
  // Replaced only when an earlier bench-calibrate made it (its marker).
  claimDirectory(workDir, 'bench-calibrate', 'the calibration directory (<BENCH_RESULTS_DIR>/calibration)')
  const progress = createProgress('bench-calibrate', { quiet: !compare.progress })
  const what = positionals.length > 0 ? positionals.join(' ') : 'every bench'

  const docs: ResultsDocument[] = []
  for (let i = 1; i <= runs; i++) {
    progress.step(`run ${i}/${runs}: vitest bench ${what} …`)
    const dir = path.join(workDir, `run-${i}`)
    const result = await runBenchChild({
      cwd: ROOT,
      args: positionals,
      resultsDir: dir,
      logFile: path.join(workDir, `run-${i}.log`),
      timeoutMs: timeoutMinutes * 60_000,
      echo: settings.BENCH_VERBOSE,
    })
    if (!result.latest) {
      progress.warn(`run ${i} produced no results (exit ${result.code ?? result.signal}${result.timedOut ? ', timed out' : ''}); log ${shownPath(result.logFile)}:\n${logTail(result.logFile, 20)}`)
      continue
    }
    if (result.code !== 0) progress.warn(`run ${i} exited with ${result.code ?? result.signal} (a violated budget or a failed bench); its results are used, see ${shownPath(result.logFile)}`)
    docs.push(readResultsFile(result.latest))
    progress.step(`run ${i}/${runs} done in ${formatDuration(result.durationMs)}`)
  }
  if (docs.length < 2) {
    console.error(`bench-calibrate: only ${docs.length} of ${runs} runs produced results; need at least 2 (logs in ${shownPath(workDir)})`)
    return 1
  }

  const proposals = proposeMargins(docs, { safety })
  for (const line of proposalTable(proposals)) console.log(line)
  for (const p of proposals) if (p.warning) console.log(`warning: ${p.warning}`)
  const env = docs[0]!.environment
  if (values['dry-run']) {
    console.log(`dry run: ${shownPath(out)} not changed`)
  } else {
    const note = `calibrated ${new Date().toISOString().slice(0, 10)} on ${env.cpuModel} × ${env.cpuCount}, profile ${env.profile}, safety ×${safety}`
    writeMarginsFile(out, proposals, note)
    console.log(`margins: ${shownPath(out)} (${proposals.length} benches from ${docs.length} runs; run results in ${shownPath(workDir)})`)
  }
  return 0
}

function proposalTable(proposals: readonly BenchProposal[]): string[] {
  const rows = proposals.map((p) => [
    `${p.file} > ${p.bench}`,
    ...p.metrics.map((m) => `${(m.spreadRelative * 100).toFixed(1)} % / ${formatMs(m.spreadMs)} ms → ${Math.round(m.margin.relative * 100)} % / ${formatMs(m.margin.absoluteMs)} ms`),
  ])
  const header = ['bench', ...(proposals[0]?.metrics.map((m) => `${m.metric}: largest difference → margin`) ?? [])]
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()
  return [line(header), ...rows.map(line)]
}

runCommand('bench-calibrate', main)
