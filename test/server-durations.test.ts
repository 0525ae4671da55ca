/**
 * The E2E bench's server-side duration per sample comes from the orchestrator's database (the
 * task's complete transition − its created_at), not from the API's completed_at (always null in
 * tasker-core); where the database cannot be read it is null, with the reason.
 */
import net from 'node:net'
import { describe, expect, test } from 'vitest'
import { serverDurations, type SampleRecord } from '../harness/bench/tasker/samples.ts'
import { createTask, taskBody, useOrchestrator, waitForTasks } from './support/orchestrator.ts'

const LIMITS = { statementTimeoutMs: 30_000, lockTimeoutMs: 10_000, connectTimeoutMs: 5_000, statementVariable: 'BENCH_STATEMENT_TIMEOUT_MS' } as const

describe('server-side durations', () => {
  const o = useOrchestrator({ workers: 1 })

  async function completedRecords(n: number): Promise<SampleRecord[]> {
    const ids: string[] = []
    for (let i = 0; i < n; i++) ids.push(await createTask(o.url, taskBody('diamond')))
    await waitForTasks(o.db, ids)
    return ids.map((task_uuid) => ({ task_uuid, correlation_id: 'n/a', ms: 1 }))
  }

  test('read from the task transitions when the database is reachable', async () => {
    const records = await completedRecords(3)
    const source = await serverDurations(records, { url: o.db.server.url, limits: LIMITS })
    expect(source).toEqual({ source: 'database: first task_transitions.to_state = complete − tasks.created_at' })
    const { rows } = await o.db.pool.query<{ task_uuid: string; ms: number }>(
      `SELECT t.task_uuid::text, (extract(epoch FROM (tt.created_at - t.created_at)) * 1000)::float8 AS ms
       FROM tasker.tasks t JOIN tasker.task_transitions tt ON tt.task_uuid = t.task_uuid AND tt.to_state = 'complete'
       WHERE t.task_uuid = ANY ($1::uuid[])`,
      [records.map((r) => r.task_uuid)],
    )
    expect(rows).toHaveLength(3)
    for (const row of rows) {
      const record = records.find((r) => r.task_uuid === row.task_uuid)!
      expect(record.server_ms).toBeGreaterThan(0)
      expect(record.server_ms).toBeCloseTo(row.ms, 2)
    }
  })

  test('null with the reason when the database is not reachable from the suite', async () => {
    const records = await completedRecords(1)
    const source = await serverDurations(records, { url: undefined, limits: LIMITS })
    expect(source.source).toBeNull()
    expect(source.reason).toMatch(/database is not reachable .*DATABASE_URL.*completed_at is not used/)
    expect(records[0]!.server_ms).toBeNull()
  })

  test('null with the reason when the database cannot be read', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as net.AddressInfo
        s.close(() => resolve(port))
      })
    })
    const records = await completedRecords(1)
    const source = await serverDurations(records, { url: `postgres://nobody@127.0.0.1:${port}/none`, limits: LIMITS })
    expect(source.source).toBeNull()
    expect(source.reason).toMatch(/^the orchestrator’s database could not be read: /)
    expect(records[0]!.server_ms).toBeNull()
  })
})
