/**
 * The idle check the bench files run before their first sample, against the reference
 * orchestrator: by the database and by the API it sees a backlog, waits until it has drained,
 * stops early (and says so) when a backlog does not move, and waits for a given set of tasks.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createTaskerClient, type TaskerClient } from '../harness/tasker/api-client.ts'
import { apiProbe, databaseProbe, IN_FLIGHT_STATES, waitForTasksSettled, waitUntilIdle, type BacklogProbe } from '../harness/bench/tasker/idle.ts'
import { createTask, taskBody, useOrchestrator } from './support/orchestrator.ts'

const LIMITS = { statementTimeoutMs: 30_000, lockTimeoutMs: 10_000, connectTimeoutMs: 10_000, statementVariable: 'BENCH_STATEMENT_TIMEOUT_MS' } as const

describe('waiting until the orchestrator is idle', () => {
  const o = useOrchestrator({ workers: 1 })
  let api: TaskerClient
  let db: BacklogProbe

  beforeAll(async () => {
    api = createTaskerClient(o.url)
    db = await databaseProbe(o.db.server.url, LIMITS)
  })
  afterAll(async () => {
    await db?.close()
    await api?.close()
  })

  const backlog = async (n: number) => {
    const ids: string[] = []
    for (let i = 0; i < n; i++) ids.push(await createTask(o.url, taskBody('linear', { bench_sleep_ms: 100 })))
    return ids
  }

  test.each(['database', 'api'] as const)('by the %s: sees the backlog, returns once it has drained', async (source) => {
    const probe = source === 'database' ? db : apiProbe(api)
    const ids = await backlog(10)
    const wait = await waitUntilIdle(probe, { timeoutMs: 120_000 })
    expect(wait).toMatchObject({ idle: true, source, outcome: 'idle', after: { tasksInFlight: 0 } })
    expect(wait.before.tasksInFlight).toBeGreaterThan(0)
    expect(wait.waitedMs).toBeGreaterThan(0)
    if (source === 'database') expect(wait.after.queuedMessages).toBe(0)
    else expect(wait.after.queuedMessages).toBeUndefined()
    // Idle means these are all done.
    const { rows } = await o.db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM tasker.task_transitions WHERE most_recent AND to_state <> 'complete' AND task_uuid = ANY ($1::uuid[])`,
      [ids],
    )
    expect(rows[0]!.n).toBe(0)
  }, 180_000)

  test('a backlog nobody drains ends the wait early, saying so; the tasks still settle once a worker is back', async () => {
    await o.orchestrator.killWorker(0, 'SIGTERM')
    let ids: string[] = []
    try {
      ids = await backlog(3)
      const wait = await waitUntilIdle(db, { timeoutMs: 120_000, stallMs: 1_500 })
      expect(wait.idle).toBe(false)
      expect(wait.outcome).toBe('no progress for 1500 ms: this backlog is not draining')
      expect(wait.after.tasksInFlight).toBe(3)
      expect(wait.after.queuedMessages).toBeGreaterThanOrEqual(3)
    } finally {
      await o.orchestrator.startWorker()
    }
    for (const probe of [db, apiProbe(api)]) {
      const settled = await waitForTasksSettled(probe, ids, { timeoutMs: 120_000 })
      expect(settled).toMatchObject({ settled: true, tasks: 3, unsettled: 0 })
    }
  }, 240_000)
})

describe('the API probe on a deployment that filters by few states', () => {
  let server: http.Server
  let api: TaskerClient
  let pending = 2
  let filters: string[] = ['pending']
  beforeAll(async () => {
    // As tasker-core's list does: `status=pending` (not complete) is understood, other states fail.
    server = http.createServer((req, res) => {
      const status = new URL(req.url!, 'http://x').searchParams.get('status') ?? ''
      const ok = filters.includes(status)
      res.writeHead(ok ? 200 : 500, { 'content-type': 'application/json' })
      res.end(JSON.stringify(ok ? { tasks: [], pagination: { page: 1, per_page: 1, total_count: pending, total_pages: pending } } : { error: { code: 'INTERNAL', message: 'syntax error' } }))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    api = createTaskerClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  })
  afterAll(async () => {
    await api?.close()
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  })

  test('counts by the states it can filter, asks no more about the others, and says which', async () => {
    const probe = apiProbe(api)
    expect(await probe.backlog()).toEqual({ tasksInFlight: 2, queuedMessages: undefined })
    expect(probe.unsupportedStatuses()).toEqual(IN_FLIGHT_STATES.filter((s) => s !== 'pending'))
    pending = 0
    const wait = await waitUntilIdle(probe, { timeoutMs: 10_000 })
    expect(wait).toMatchObject({ idle: true, source: 'api' })
  })

  test('a deployment that can filter by no state: the probe says it cannot count', async () => {
    filters = []
    await expect(apiProbe(api).backlog()).rejects.toThrow(/cannot count tasks by state/)
  })
})
