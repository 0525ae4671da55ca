/**
 * The findings of a bench file (harness/results/findings.ts), kept as they are made and written to
 * `<resultsDir>/findings/<file>.json` after each one, so an interrupted run keeps what it found;
 * and the check of a finding against its budget (`scaling:` and `probes:` in the budget file).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { checkFinding, type BudgetCheck } from '../../results/budgets/evaluate.ts'
import { runBudgets } from '../../results/budgets/load.ts'
import { findingsDir, type Finding, type FindingsFile } from '../../results/findings.ts'
import type { RunInfo } from '../../results/run-info.ts'

export class FindingsLog {
  readonly #findings: Finding[] = []
  readonly #file: string
  readonly #stem: string

  constructor(run: RunInfo, stem: string) {
    this.#stem = stem
    this.#file = path.join(findingsDir(run.resultsDir), `${stem}.json`)
  }

  add(finding: Finding): void {
    this.#findings.push(finding)
    mkdirSync(path.dirname(this.#file), { recursive: true })
    const doc: FindingsFile = { file: this.#stem, findings: this.#findings }
    writeFileSync(this.#file, JSON.stringify(doc, null, 2) + '\n')
  }
}

/**
 * The budgets of a finding (`scaling` or `probes`, then its name) checked against what was
 * observed; `violations` are the failed ones that are not targets.
 */
export function checkFindingBudgets(run: RunInfo, section: 'scaling' | 'probes', name: string, observed: Partial<Record<string, number>>): { checks: BudgetCheck[]; violations: string[] } {
  const book = runBudgets(run)
  const checks: BudgetCheck[] = []
  const violations: string[] = []
  for (const b of book.for(section, name).filter((x) => x.finding)) {
    const value = observed[b.finding!]
    if (value === undefined) continue
    const check = checkFinding(b, value)
    checks.push(check)
    if (!check.passed && !check.target) violations.push(`budget violated: ${section} > ${name}: ${b.text} (observed ${b.finding === 'probe' ? 'fail' : value.toFixed(3)}; ${b.where})`)
  }
  return { checks, violations }
}
