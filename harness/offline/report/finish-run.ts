/**
 * What the results reporter does after writing the results file: compare with BENCH_BASELINE when
 * set, write every report next to the results, print where they are and what regressed, and say
 * whether the run must fail (a regression under BENCH_REGRESSION=blocking, or a baseline that
 * cannot be read: asking for a comparison and silently getting none would hide regressions).
 */
import path from 'node:path'
import { compareRuns, hasRegression, type Comparison } from '../compare/compare-runs.ts'
import { loadMargins } from '../compare/margins.ts'
import { loadCompareSettings } from '../compare/settings.ts'
import { readResultsFile } from '../../results/read.ts'
import type { ResultsDocument } from '../../results/schema.ts'
import { comparisonLines, shownPath } from './terminal.ts'
import { writeReports } from './write-reports.ts'

export interface FinishRunOptions {
  root: string
  env?: NodeJS.ProcessEnv
  log: (line: string) => void
}

export interface FinishRunOutcome {
  /** 1 when the run must fail because of the comparison */
  exitCode: 0 | 1
  comparison?: Comparison
}

export function finishRun(doc: ResultsDocument, dir: string, options: FinishRunOptions): FinishRunOutcome {
  const { log } = options
  let comparison: Comparison | undefined
  let baseline: ResultsDocument | undefined
  let exitCode: 0 | 1 = 0
  let policy: 'blocking' | 'informational' = 'blocking'
  let against = ''
  try {
    const settings = loadCompareSettings({ root: options.root, ...(options.env ? { env: options.env } : {}) })
    policy = settings.regression
    if (settings.baseline) {
      against = shownPath(settings.baseline)
      baseline = readResultsFile(settings.baseline)
      comparison = compareRuns(baseline, doc, {
        margins: loadMargins(settings.marginsFile, settings.marginsFileSetting),
        gates: settings.gates,
        labels: { baseline: 'baseline', current: 'this run' },
      })
    }
  } catch (err) {
    log(`comparison failed: ${(err as Error).message}`)
    exitCode = 1
  }
  try {
    const footer = comparison ? `Baseline: \`${against}\`. Charts: \`${shownPath(path.join(dir, 'report.html'))}\`.` : undefined
    const paths = writeReports(dir, { current: doc, ...(baseline ? { baseline } : {}), ...(comparison ? { comparison, policy } : {}), ...(footer ? { footer } : {}) })
    log(`reports: ${[paths.html, paths.markdown, paths.bmf, paths.benchmarkAction, ...(paths.comparison ? [paths.comparison] : [])].map((p) => shownPath(p)).join(', ')}`)
  } catch (err) {
    log(`reports could not be written to ${dir}: ${(err as Error).message}`)
    exitCode = 1
  }
  if (comparison) {
    for (const line of comparisonLines(comparison, against)) log(line)
    if (hasRegression(comparison)) {
      if (policy === 'blocking') {
        log('regression: failing the run (BENCH_REGRESSION=informational reports regressions without failing)')
        exitCode = 1
      } else {
        log('regression reported only (BENCH_REGRESSION=informational)')
      }
    }
  }
  return { exitCode, ...(comparison ? { comparison } : {}) }
}
