/**
 * Vitest reporter: writes every measurement of the run to `<resultsDir>/bench-<timestamp>.json`
 * and `<resultsDir>/latest.json` (resultsDir: the global setup's RunInfo, else BENCH_RESULTS_DIR).
 * Runs in the main process; the measurements arrive through each test's meta (see
 * harness/bench/bench-hooks.ts and harness/bench/record.ts). Nothing is written when nothing was measured.
 * Then the reports (harness/offline/report/finish-run.ts): summary.md, report.html, bmf.json,
 * benchmark-action.json, and with BENCH_BASELINE the comparison (comparison.json), which fails the
 * run on a regression unless BENCH_REGRESSION=informational.
 *
 * Schema (version 1; types in harness/results/schema.ts, validation in harness/results/read.ts):
 * {
 *   "schemaVersion": 1,
 *   "environment": {                  // harness/results/environment.ts EnvironmentFingerprint
 *     "node", "platform", "arch", "cpuModel", "cpuCount", "memoryGiB",
 *     "commit",                       // sha, "<sha>-dirty" or "unknown"
 *     "profile",                      // full | smoke
 *     "timestamp",                    // ISO 8601, start of the run
 *     "postgres"?: { mode, version, reason }, "pgmq"?: { kind, version },
 *     "orchestrator"?: { mode, reason, workers? }, "traces"?: string
 *   },
 *   "results": [{
 *     "file": "event-propagation",    // bench file stem (the budget file's key)
 *     "module": "benchmarks/event-propagation.bench.ts",
 *     "test": "notify",               // full test name
 *     "bench": "small payload",       // bench name (Vitest's table) or recordSamples() name
 *     "source": "bench" | "samples",
 *     "state": "passed" | "failed" | …, // the test's outcome
 *     "unit": "ms",
 *     "n", "min", "max", "mean", "sd", "p50", "p75", "p90", "p95", "p99", "p999": number,
 *     "p99Meaningful": boolean,       // n >= 100
 *     "budgets": [{ "expression": "p(95)<10", "operator": "<", "limit": 10, "observed": 2.1, "passed": true,
 *                   "rerun"?: { "verdict": "violated once, held on rerun" | "violated, confirmed on rerun",
 *                               "firstObserved": 12.4 } }],   // a violated time budget is measured again
 *     "extra": { … },                 // annotateResult() fields + the measurement's own extra
 *     "samples"?: number[]            // sorted; all samples up to 5000, else 5000 evenly spaced
 *                                     // quantile points (harness/results/retained-samples.ts)
 *   }]
 * }
 */
import path from 'node:path'
import type { Reporter, TestModule, Vitest } from 'vitest/node'
import { runBudgets } from '../../results/budgets/load.ts'
import { loadSettings } from '../../config/settings.ts'
import { collectEnvironment } from '../environment.ts'
import { buildResultsDocument, type FinishedTestRecord } from '../../results/document.ts'
import { benchFileStem } from '../../results/file-stem.ts'
import type { RunInfo } from '../../results/run-info.ts'
import { writeResultsFiles } from '../../results/write.ts'
import { finishRun } from '../../offline/report/finish-run.ts'

export default class ResultsJsonReporter implements Reporter {
  #vitest: Vitest | undefined

  onInit(vitest: Vitest): void {
    this.#vitest = vitest
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const root = this.#vitest?.config.root ?? process.cwd()
    const { tests, run, completeModules } = collect(testModules)
    if (tests.length === 0) return

    const environment = run?.environment ?? collectEnvironment({}, { root })
    const dir = run?.resultsDir ?? path.resolve(root, loadSettings({ root }).BENCH_RESULTS_DIR)
    const doc = buildResultsDocument(environment, tests)
    const { file } = writeResultsFiles(doc, dir)
    this.#log(`results: ${path.relative(process.cwd(), file) || file} (${doc.results.length} measurements)`)
    if (run?.budgets) for (const line of unmatchedBudgetWarnings(run, doc.results, completeModules)) this.#log(line)
    // reports next to the results, and the comparison with BENCH_BASELINE when one is set
    const { exitCode } = finishRun(doc, dir, { root, log: (line) => this.#log(line) })
    if (exitCode !== 0) process.exitCode = exitCode
  }

  #log(line: string): void {
    if (this.#vitest) this.#vitest.logger.log(line)
    else console.log(line)
  }
}

function collect(testModules: ReadonlyArray<TestModule>) {
  const tests: FinishedTestRecord[] = []
  const completeModules = new Set<string>()
  let run: RunInfo | undefined
  for (const module of testModules) {
    let measured = false
    let skipped = false
    for (const test of module.children.allTests()) {
      const state = test.result().state
      if (state === 'skipped' || state === 'pending') skipped = true
      const meta = test.meta()
      if (!meta.tasker || meta.tasker.measurements.length === 0) continue
      measured = true
      tests.push({ module: module.relativeModuleId, test: test.fullName, state, meta })
    }
    if (!measured) continue
    run ??= (module.project.getProvidedContext() as Partial<{ run: RunInfo }>).run
    if (!skipped) completeModules.add(benchFileStem(module.relativeModuleId))
  }
  return { tests, run, completeModules }
}

/**
 * A budget key that names no bench of a file that ran completely is most likely a typo, and a
 * typo silently disables the budget. Only a note.
 */
export function unmatchedBudgetWarnings(run: Pick<RunInfo, 'budgets'>, results: ReadonlyArray<{ file: string; bench: string }>, completeModules: ReadonlySet<string>): string[] {
  // the run's own book (run.budgets): the one its verdicts were made with, overlays included
  const book = runBudgets(run)
  const warnings: string[] = []
  for (const stem of completeModules) {
    const measured = new Set(results.filter((r) => r.file === stem).map((r) => r.bench))
    for (const name of book.benchNames(stem)) {
      if (!measured.has(name)) warnings.push(`note: budgets for "${stem} > ${name}" matched no bench of ${stem} (bench names are case-sensitive)`)
    }
  }
  return warnings
}
