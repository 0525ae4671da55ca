/**
 * TASKER_COORDINATION: `database` (the default, any number of orchestration instances: each
 * result batch in a transaction holding its tasks' row locks) or `process` (the only instance:
 * its in-process TaskLocks order the evaluations, no transaction). The embedded launcher refuses
 * `process` for several instances; the suite asks for it when it starts one.
 */
import { describe, expect, test } from 'vitest'
import { startEmbeddedOrchestrator } from '../harness/main/orchestrator/embedded.ts'
import { ConfigError, loadOrchestrationConfig } from '../orchestrator/index.ts'

describe('TASKER_COORDINATION', () => {
  const base = { DATABASE_URL: 'postgres://tasker@127.0.0.1:5432/tasker' }

  test('is database by default, and takes database or process', () => {
    expect(loadOrchestrationConfig(base).coordination).toBe('database')
    expect(loadOrchestrationConfig({ ...base, TASKER_COORDINATION: 'process' }).coordination).toBe('process')
    expect(loadOrchestrationConfig({ ...base, TASKER_COORDINATION: 'database' }).coordination).toBe('database')
  })

  test('anything else is refused, naming the variable and what is accepted', () => {
    expect(() => loadOrchestrationConfig({ ...base, TASKER_COORDINATION: 'none' })).toThrow(ConfigError)
    expect(() => loadOrchestrationConfig({ ...base, TASKER_COORDINATION: 'none' })).toThrow('TASKER_COORDINATION=none is not one of database|process')
  })

  test('the embedded launcher refuses process coordination for several instances, before starting anything', async () => {
    await expect(startEmbeddedOrchestrator({ databaseUrl: base.DATABASE_URL, workers: 1, orchestrators: 2, coordination: 'process', logDir: '/nonexistent' })).rejects.toThrow(
      "coordination 'process' keeps task evaluations apart inside one process only: it cannot serve 2 orchestration instances",
    )
  })
})
