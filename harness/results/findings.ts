/**
 * Findings: what a bench establishes that is not a timing (harness/bench/sql/findings.ts writes
 * them to `<resultsDir>/findings/<bench file>.json`; npm run conformance reads them back):
 * - scaling: the scaling order of a function over the scales measured (scaling.ts);
 * - probe: a contract probe's verdict with its evidence (harness/bench/probes);
 * - plan: the plan node that dominates a function at a scale, and whether the plan's shape
 *   changed from the scale before;
 * - candidates: the tasks get_next_ready_tasks returns when asked for all of them, to check that
 *   two deployments answer over the same set before their timings are compared.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import type { BudgetCheck } from './budgets/evaluate.ts'
import type { ScalingFit } from './scaling.ts'

export type ProbeStatus = 'pass' | 'fail' | 'not run'

export interface ProbeResult {
  /** e.g. `claim exclusivity`: the key its budget (`probes: claim exclusivity: [probe: pass]`) is listed under */
  name: string
  status: ProbeStatus
  /** what was observed, one line each */
  evidence: string[]
}

export type Finding =
  | { kind: 'scaling'; name: string; fit: ScalingFit | { unavailable: string }; line: string; budgets: BudgetCheck[] }
  | ({ kind: 'probe'; budgets: BudgetCheck[] } & ProbeResult)
  | { kind: 'plan'; name: string; scale: string; tasks: number; dominant: string; shape: string; changedFrom?: string }
  | { kind: 'candidates'; name: string; scale: string; tasks: string[] }

export interface FindingsFile {
  /** bench file stem */
  file: string
  findings: Finding[]
}

export const findingsDir = (resultsDir: string): string => path.join(resultsDir, 'findings')

/** Every findings file of a results directory (none: empty). */
export function readFindings(resultsDir: string): Finding[] {
  const dir = findingsDir(resultsDir)
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .flatMap((f) => {
      const doc = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as FindingsFile
      if (!Array.isArray(doc.findings)) throw new Error(`${path.join(dir, f)}: no findings list; was it written by this version of the suite?`)
      return doc.findings
    })
}
