/**
 * Synthetic work per task (harness/results/work.ts) for the work comparison's tests: a linear
 * workflow's statements, per task, as the reference orchestrator's run shows them in outline.
 */
import type { StatementWork, WorkMeasurement } from '../../harness/results/work.ts'

export interface StatementSpec {
  query: string
  calls: number
  rows?: number
  sharedBlks?: number
  toplevel?: boolean
  queryId?: string
}

/** The statements of a 4-step linear task: per task, so 4 calls are one per step. */
export const LINEAR_STATEMENTS: readonly StatementSpec[] = [
  { query: 'SELECT pgmq.read($1, $2, $3)', calls: 8, rows: 4, sharedBlks: 40 },
  { query: 'UPDATE workflow_steps SET state = $1 WHERE workflow_step_uuid = $2', calls: 8, rows: 8, sharedBlks: 64 },
  { query: 'SELECT pgmq.delete($1, $2)', calls: 4, rows: 4, sharedBlks: 16 },
  { query: 'INSERT INTO tasks (task_uuid, name) VALUES ($1, $2)', calls: 1, rows: 1, sharedBlks: 12 },
]

export function workOf(statements: readonly StatementSpec[], overrides: Partial<WorkMeasurement['perTask']> = {}, salt = 'a'): WorkMeasurement {
  const rows: StatementWork[] = statements.map((s, i) => ({
    queryId: s.queryId ?? `${salt}${i}`, // query ids differ between runs (they name table OIDs)
    toplevel: s.toplevel ?? true,
    database: 'tasker_bench_db',
    query: s.query,
    calls: s.calls,
    rows: s.rows ?? 0,
    sharedBlks: s.sharedBlks ?? 0,
    walBytes: 0,
    execMs: 0.01 * s.calls,
  }))
  const sum = (f: (s: StatementWork) => number) => rows.reduce((t, s) => t + f(s), 0)
  return {
    format: 1,
    tasks: 200,
    windowMs: 10_000,
    databases: ['tasker_bench_db'],
    perTask: {
      statements: sum((s) => s.calls),
      round_trips: sum((s) => (s.toplevel ? s.calls : 0)),
      rows: sum((s) => s.rows),
      shared_blks: sum((s) => s.sharedBlks),
      commits: 9,
      wal_bytes: 5000,
      cpu_ms: 3.1,
      ...overrides,
    },
    statements: rows,
    background: { windowMs: 2000, perSecond: {}, statements: [] },
    otherActivity: 'none: the suite’s own server',
    source: 'synthetic',
    pgmqCounted: 'pgmq.*',
    notifiesCounted: 'pg_notify',
  }
}
