/**
 * The experiment knob of the reference worker (TASKER_WORKER_STEP_DELAY_MS, set by the suite's
 * BENCH_WORKER_STEP_DELAY_MS): off by default, a decimal number of milliseconds, and a real wait
 * before every handler — what npm run bench:power injects to measure the regression check.
 */
import { describe, expect, test } from 'vitest'
import { ConfigError, loadWorkerConfig, runHandler, type StepInput } from '../orchestrator/index.ts'
import { loadSettings } from '../harness/config/settings.ts'

const DB = { DATABASE_URL: 'postgres://u@127.0.0.1:5432/db' }
const input: StepInput = { taskUuid: 't', stepUuid: 's', stepName: 'linear_step_1', namespace: 'n', context: {}, parents: {}, attempt: 1, initialization: {} } as StepInput

describe('worker step delay (experiment knob)', () => {
  test('off unless set; decimals allowed; a bad value is one line naming the variable', () => {
    expect(loadWorkerConfig(DB).stepDelayMs).toBe(0)
    expect(loadWorkerConfig({ ...DB, TASKER_WORKER_STEP_DELAY_MS: '2.75' }).stepDelayMs).toBe(2.75)
    expect(() => loadWorkerConfig({ ...DB, TASKER_WORKER_STEP_DELAY_MS: '-1' })).toThrow(ConfigError)
    expect(() => loadWorkerConfig({ ...DB, TASKER_WORKER_STEP_DELAY_MS: '5ms' })).toThrow(/^TASKER_WORKER_STEP_DELAY_MS=5ms is not a number of milliseconds/)
    expect(() => loadWorkerConfig({ ...DB, TASKER_WORKER_STEP_DELAY_MS: '20000' })).toThrow(/out of range \(expected 0\.\.10000\)/)
    expect(loadSettings({ env: {}, root: process.cwd() }).BENCH_WORKER_STEP_DELAY_MS).toBe(0)
    expect(loadSettings({ env: { BENCH_WORKER_STEP_DELAY_MS: '1.5' }, root: process.cwd() }).BENCH_WORKER_STEP_DELAY_MS).toBe(1.5)
    expect(() => loadSettings({ env: { BENCH_WORKER_STEP_DELAY_MS: 'slow' }, root: process.cwd() })).toThrow(/^BENCH_WORKER_STEP_DELAY_MS=slow is not a number/)
  })

  test('the handler starts only after the delay, sub-millisecond parts included', async () => {
    let startedAfter = -1
    const t0 = performance.now()
    const handler = () => {
      startedAfter = performance.now() - t0
      return 1
    }
    expect(await runHandler(handler, input, 30, 3.4)).toEqual({ ok: true, result: 1 })
    expect(startedAfter).toBeGreaterThanOrEqual(3.4)
  })
})
