/**
 * Writing every report of a run into its results directory, each replaced atomically:
 *   summary.md              markdown for $GITHUB_STEP_SUMMARY and a PR comment (markdown.ts)
 *   report.html             self-contained HTML with charts (html.ts)
 *   bmf.json                Bencher Metric Format (bmf.ts)
 *   benchmark-action.json   github-action-benchmark customSmallerIsBetter (benchmark-action.ts)
 *   comparison.json         the verdicts, when compared with a baseline (compare-runs.ts)
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { Comparison } from '../compare/compare-runs.ts'
import type { RegressionPolicy } from '../compare/settings.ts'
import type { ResultsDocument } from '../../results/schema.ts'
import { toBenchmarkAction, validateBenchmarkAction } from './benchmark-action.ts'
import { toBmf, validateBmf } from './bmf.ts'
import { renderHtml } from './html.ts'
import { renderMarkdown } from './markdown.ts'

export interface ReportInput {
  current: ResultsDocument
  baseline?: ResultsDocument
  comparison?: Comparison
  policy?: RegressionPolicy
  /** a last markdown line, e.g. where the HTML report is */
  footer?: string
}

export interface ReportPaths {
  markdown: string
  html: string
  bmf: string
  benchmarkAction: string
  comparison?: string
}

export const REPORT_FILES = {
  markdown: 'summary.md',
  html: 'report.html',
  bmf: 'bmf.json',
  benchmarkAction: 'benchmark-action.json',
  comparison: 'comparison.json',
} as const

export function writeReports(dir: string, input: ReportInput): ReportPaths {
  mkdirSync(dir, { recursive: true })
  const bmf = toBmf(input.current)
  const bmfProblems = validateBmf(bmf)
  if (bmfProblems.length > 0) throw new Error(`internal error: the BMF output is invalid: ${bmfProblems.join('; ')}`)
  const action = toBenchmarkAction(input.current)
  const actionProblems = validateBenchmarkAction(action)
  if (actionProblems.length > 0) throw new Error(`internal error: the github-action-benchmark output is invalid: ${actionProblems.join('; ')}`)

  const paths: ReportPaths = {
    markdown: write(dir, REPORT_FILES.markdown, renderMarkdown({ current: input.current, ...(input.comparison ? { comparison: input.comparison } : {}), ...(input.policy ? { policy: input.policy } : {}), ...(input.footer ? { footer: input.footer } : {}) })),
    html: write(dir, REPORT_FILES.html, renderHtml({ current: input.current, ...(input.baseline ? { baseline: input.baseline } : {}), ...(input.comparison ? { comparison: input.comparison } : {}) })),
    bmf: write(dir, REPORT_FILES.bmf, `${JSON.stringify(bmf, null, 2)}\n`),
    benchmarkAction: write(dir, REPORT_FILES.benchmarkAction, `${JSON.stringify(action, null, 2)}\n`),
  }
  if (input.comparison) paths.comparison = write(dir, REPORT_FILES.comparison, `${JSON.stringify(input.comparison, null, 2)}\n`)
  return paths
}

function write(dir: string, name: string, text: string): string {
  const file = path.join(dir, name)
  const partial = `${file}.${process.pid}.tmp`
  writeFileSync(partial, text)
  renameSync(partial, file)
  return file
}
