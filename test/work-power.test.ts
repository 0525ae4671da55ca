/**
 * The work-power analysis (harness/offline/compare/work-power.ts) on synthetic runs: the spread of
 * every counter over identical runs, and how often one round flags the extra statement per step and
 * identical code, per hog condition. The real experiment: npm run bench:power -- --work (docs/regression-checks.md).
 */
import { describe, expect, test } from 'vitest'
import { simulatedDocument } from '../harness/offline/compare/simulate.ts'
import { analyseWorkPower, formatWorkPowerTable, type WorkPowerRun } from '../harness/offline/compare/work-power.ts'
import type { WorkMeasurement } from '../harness/results/work.ts'
import { LINEAR_STATEMENTS, workOf } from './support/work-fixtures.ts'

const BENCH = 'e2e-latency > e2e linear'
const EXTRA = { query: 'SELECT $1 AS experiment_extra_statement FROM tasker.workflow_steps WHERE workflow_step_uuid = $2::uuid', calls: 4, rows: 4, sharedBlks: 12 }

function run(name: string, extra: number, hog: boolean, work: WorkMeasurement): WorkPowerRun {
  const doc = simulatedDocument([{ file: 'e2e-latency', bench: 'e2e linear', samples: Array.from({ length: 30 }, (_, i) => 20 + i / 10) }])
  doc.results[0]!.work = work
  doc.results[0]!.extra = { steps: 4 }
  return { name, extra, hog, doc }
}

describe('work power', () => {
  // quiet: the statements per task wobble by 0.2 (a background statement not quite subtracted);
  // with the hog one identical run is off by a whole statement per task (0.7 beyond the median)
  const runs = [
    run('q0a', 0, false, workOf(LINEAR_STATEMENTS, { statements: 21 })),
    run('q0b', 0, false, workOf(LINEAR_STATEMENTS, { statements: 21.2 })),
    run('q0c', 0, false, workOf(LINEAR_STATEMENTS, { statements: 21.1 })),
    run('q1a', 1, false, workOf([...LINEAR_STATEMENTS, EXTRA])),
    run('q1b', 1, false, workOf([...LINEAR_STATEMENTS, EXTRA])),
    run('h0a', 0, true, workOf(LINEAR_STATEMENTS, { statements: 21 })),
    run('h0b', 0, true, workOf(LINEAR_STATEMENTS, { statements: 21.7 })),
    run('h1a', 1, true, workOf([...LINEAR_STATEMENTS, EXTRA])),
  ]
  const a = analyseWorkPower(runs, BENCH)

  test('the spread of each counter over the identical runs, per condition', () => {
    const statements = (hog: boolean) => a.spread.find((s) => s.hog === hog)!.counters.find((c) => c.counter === 'statements')!
    expect(statements(false)).toMatchObject({ runs: 3, median: 21.1, min: 21, max: 21.2 })
    expect(statements(false).maxAbsoluteDeviation).toBeCloseTo(0.1)
    expect(statements(true)).toMatchObject({ runs: 2, min: 21, max: 21.7 })
  })

  test('one round flags the extra statement every time and names it; identical code is flagged only beyond the margin', () => {
    expect(a.rates.map((r) => [r.hog, r.condition, r.trials, r.flagged, r.statementShown, r.runs])).toEqual([
      [false, 'identical', 6, 0, 0, 3],
      [false, '+1 statement/step', 6, 6, 6, 5],
      [true, 'identical', 2, 1, 0, 2], // 21 → 21.7: 0.7 statements per task more, beyond half a statement (21.7 → 21 is less work)
      [true, '+1 statement/step', 2, 2, 2, 3],
    ])
    const table = formatWorkPowerTable(a).join('\n')
    expect(table).toContain('| quiet | +1 statement/step | 6 (5) | 6 (100 %) | 6 (100 %) |')
    expect(table).toContain('| CPU hog | identical | 2 (2) | 1 (50 %) | 0 (0 %) |')
  })
})
