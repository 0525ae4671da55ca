/** The pieces of npm run conformance that run without third-party checkouts. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, expect, test } from 'vitest'
import { sideBySide } from '../harness/offline/conformance/side-by-side.ts'
import { taskerCoreMigrations } from '../harness/main/conformance/tasker-core-migrations.ts'
import type { ResultsDocument } from '../harness/results/schema.ts'

const dir = mkdtempSync(path.join(os.tmpdir(), 'tasker-bench-conformance-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const doc = (results: [string, number, number][], hash: string) =>
  ({
    environment: { pgmq: { kind: 'extension', version: '1.5.1' }, functions: { 'tasker.get_task_execution_context': hash } },
    results: results.map(([bench, p50, n]) => ({ bench, p50, p95: p50 * 2, p99: p50 * 3, n })),
  }) as unknown as ResultsDocument

test('side by side: one row per bench of either side, the p50 ratio, and what each side ran', () => {
  const table = sideBySide(
    { label: 'reference', doc: doc([['get_task_execution_context @1K', 0.5, 1000], ['only left', 1, 10]], 'aaaaaaaa11') },
    { label: 'tasker-core', doc: doc([['get_task_execution_context @1K', 1.5, 1000]], 'bbbbbbbb22') },
  )
  expect(table).toContain('| get_task_execution_context @1K | 0.500 / 1.00 / 1.50 | 1.50 / 3.00 / 4.50 | 3.00× |')
  expect(table).toContain('| only left | 1.00 / 2.00 / 3.00 (n=10) | — | — |')
  expect(table).toContain('reference: pgmq extension 1.5.1; functions tasker.get_task_execution_context aaaaaaaa')
  expect(table).toContain('tasker-core: pgmq extension 1.5.1; functions tasker.get_task_execution_context bbbbbbbb')
})

test('tasker-core migrations: the checkout’s migrations/*.sql in name order, never archive/; a wrong path says what is expected', () => {
  mkdirSync(path.join(dir, 'migrations', 'archive'), { recursive: true })
  for (const f of ['20260110000002_b.sql', '20250810140001_a.sql', 'archive/old.sql', 'CLAUDE.md']) writeFileSync(path.join(dir, 'migrations', f), '')
  expect(taskerCoreMigrations(dir).map((f) => path.basename(f))).toEqual(['20250810140001_a.sql', '20260110000002_b.sql'])
  expect(() => taskerCoreMigrations(path.join(dir, 'nope'))).toThrow(/TASKER_CORE_DIR=.*nope: no migrations\/ directory; expected a tasker-core checkout/)
})

test('candidate-set check: a get_next_ready_tasks row gets no bare ratio where the two offer different tasks; the findings follow the table', () => {
  const withRows = (bench: string, p50: number, rows: number, tasks: number) =>
    ({ bench, p50, p95: p50, p99: p50, n: 500, extra: { returnedRows: rows, datasetTasks: tasks } }) as never
  const side = (label: string, rows: number, candidates: Record<string, string[]>, probe: 'pass' | 'fail') => ({
    label,
    doc: { environment: { functions: {} }, results: [withRows('get_next_ready_tasks(10) @1K', 1, rows, 1_000), withRows('get_next_ready_tasks(10) @10K', 10, rows, 10_000)] } as unknown as ResultsDocument,
    findings: [
      ...Object.entries(candidates).map(([scale, tasks]) => ({ kind: 'candidates' as const, name: 'get_next_ready_tasks(all)', scale, tasks })),
      { kind: 'probe' as const, name: 'claim exclusivity', status: probe, evidence: [`${label} evidence`], budgets: [] },
      { kind: 'plan' as const, name: 'get_next_ready_tasks', scale: '10K', tasks: 10_000, dominant: 'Seq Scan on task_transitions: 10,000 rows', shape: 'b', changedFrom: '1K' },
    ],
  })
  const table = sideBySide(side('reference', 10, { '1K': ['1', '2', '3'], '10K': ['1', '2'] }, 'pass'), side('tasker-core', 3, { '1K': ['1', '2', '3'], '10K': ['1', '5', '7'] }, 'fail'))
  // same set at 1K: a ratio; different at 10K: the rows each returned instead
  expect(table).toContain('| get_next_ready_tasks(10) @1K | 1.00 / 1.00 / 1.00 | 1.00 / 1.00 / 1.00 | 1.00× |')
  expect(table).toContain('| get_next_ready_tasks(10) @10K | 10.0 / 10.0 / 10.0 | 10.0 / 10.0 / 10.0 | not like for like: different candidate sets (rows returned 10 / 3) |')
  expect(table).toContain('- @1K: the same 3 tasks')
  const third = sideBySide(side('reference', 10, {}, 'pass'), side('tasker-core', 10, {}, 'pass'))
  expect(third).toContain('| get_next_ready_tasks(10) @1K | 1.00 / 1.00 / 1.00 | 1.00 / 1.00 / 1.00 | 1.00× (candidate sets not compared at this scale) |')
  expect(table).toContain('- @10K: different sets: reference 2, tasker-core 3, 1 in both; only reference: 1 (e.g. task #2); only tasker-core: 2 (e.g. task #5, #7)')
  expect(table).toContain('| get_next_ready_tasks(10) | O(N^1.00), +1.00 ms per 1K tasks')
  expect(table).toContain('| get_next_ready_tasks | @10K: Seq Scan on task_transitions: 10,000 rows; plan changes 1K→10K |')
  expect(table).toContain('  - reference: **PASS**: reference evidence')
  expect(table).toContain('  - tasker-core: **FAIL**: tasker-core evidence')
})
