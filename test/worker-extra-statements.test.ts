/**
 * The work-injection knob of the reference worker (TASKER_WORKER_EXTRA_STATEMENTS, set by the
 * suite's BENCH_WORKER_EXTRA_STATEMENTS): off by default, a whole number of extra statements per
 * step, a bad value one line naming the variable. That each adds one statement per step to the
 * work per task is shown on real runs by npm run bench:power -- --work (docs/regression-checks.md).
 */
import { describe, expect, test } from 'vitest'
import { ConfigError, loadWorkerConfig } from '../orchestrator/index.ts'
import { loadSettings } from '../harness/config/settings.ts'

const DB = { DATABASE_URL: 'postgres://u@127.0.0.1:5432/db' }

describe('worker extra statements (experiment knob)', () => {
  test('off unless set; whole numbers up to 10; a bad value is one line naming the variable', () => {
    expect(loadWorkerConfig(DB).extraStatementsPerStep).toBe(0)
    expect(loadWorkerConfig({ ...DB, TASKER_WORKER_EXTRA_STATEMENTS: '1' }).extraStatementsPerStep).toBe(1)
    expect(() => loadWorkerConfig({ ...DB, TASKER_WORKER_EXTRA_STATEMENTS: '1.5' })).toThrow(ConfigError)
    expect(() => loadWorkerConfig({ ...DB, TASKER_WORKER_EXTRA_STATEMENTS: '11' })).toThrow(/^TASKER_WORKER_EXTRA_STATEMENTS=11 .*0\.\.10/)
    expect(loadSettings({ env: {}, root: process.cwd() }).BENCH_WORKER_EXTRA_STATEMENTS).toBe(0)
    expect(loadSettings({ env: { BENCH_WORKER_EXTRA_STATEMENTS: '2' }, root: process.cwd() }).BENCH_WORKER_EXTRA_STATEMENTS).toBe(2)
    expect(() => loadSettings({ env: { BENCH_WORKER_EXTRA_STATEMENTS: 'one' }, root: process.cwd() })).toThrow(/^BENCH_WORKER_EXTRA_STATEMENTS=one /)
  })
})
