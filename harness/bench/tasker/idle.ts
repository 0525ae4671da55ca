/**
 * "Is the system idle?" — no task in flight and no message in the orchestrator's queues — and a
 * bounded wait for it. A bench file that measures the orchestrator (or shares its machine) waits
 * for it before its first sample, so it does not measure the backlog an earlier file left behind
 * (task-initialization alone leaves about 1,000 tasks for the workers). The wait is recorded with
 * every result of the file and printed as one line.
 *
 * Two ways to look, read-only both:
 * - the database, when the suite can reach the orchestrator's (the embedded or compose
 *   orchestrator's, or DATABASE_URL next to an external one): tasks whose current transition is
 *   an in-flight state, and the pgmq queue depths (pgmq.metrics_all) of the worker and
 *   orchestration queues. The session is read-only (default_transaction_read_only).
 * - else the API: GET /v1/tasks?status=<state>&per_page=1 per in-flight state, the pagination's
 *   total_count (queue depths are not visible there).
 *
 * A backlog that does not move (tasks no worker serves, a namespace without workers) would keep a
 * wait going to its limit; when nothing has changed for `stallMs` the wait ends early and says so.
 */
import { afterAll, beforeAll, beforeEach } from 'vitest'
import type pg from 'pg'
import { redactUrl } from '../../config/settings.ts'
import { annotateResult } from '../record.ts'
import type { RunInfo } from '../../results/run-info.ts'
import { connectPg } from '../../db/connect.ts'
import { pgLimits } from '../../db/limits.ts'
import { createTaskerClient, taskerClientLimits, TaskerApiError, type TaskerClient } from '../../tasker/api-client.ts'

/** Task states with work still ahead (tasker-core's task_transitions check constraint; the reference's are the same). */
export const IN_FLIGHT_STATES = ['pending', 'initializing', 'enqueuing_steps', 'steps_in_process', 'evaluating_results', 'waiting_for_dependencies', 'waiting_for_retry'] as const
/** States a task stays in without any worker's help. */
export const SETTLED_STATES = ['complete', 'error', 'cancelled', 'resolved_manually', 'blocked_by_failures'] as const

export interface Backlog {
  tasksInFlight: number
  /** messages in the worker and orchestration queues; undefined when only the API is visible */
  queuedMessages: number | undefined
}

export interface BacklogProbe {
  source: 'database' | 'api'
  backlog(): Promise<Backlog>
  /** the ones of these tasks that are not settled yet */
  unsettled(taskUuids: readonly string[]): Promise<string[]>
  close(): Promise<void>
}

const BACKLOG_SQL = `
  SELECT (SELECT count(*) FROM tasker.task_transitions WHERE most_recent AND to_state::text = ANY ($1::text[]))::bigint AS tasks,
         (SELECT coalesce(sum(queue_length), 0) FROM pgmq.metrics_all()
           WHERE queue_name LIKE 'worker\\_%' OR queue_name LIKE 'orchestration\\_%')::bigint AS messages`

const UNSETTLED_SQL = `
  SELECT id::text AS task_uuid FROM unnest($1::uuid[]) AS ids(id)
  WHERE NOT EXISTS (SELECT 1 FROM tasker.task_transitions tt
                    WHERE tt.task_uuid = ids.id AND tt.most_recent AND tt.to_state::text = ANY ($2::text[]))`

/** Reads the orchestrator's database; never writes (the session is read-only). */
export async function databaseProbe(databaseUrl: string, limits: Parameters<typeof connectPg>[2]): Promise<BacklogProbe> {
  const client: pg.Client = await connectPg(databaseUrl, 'idle check', limits, { options: '-c default_transaction_read_only=on' })
  return {
    source: 'database',
    async backlog() {
      const { rows } = await client.query<{ tasks: string; messages: string }>(BACKLOG_SQL, [IN_FLIGHT_STATES])
      return { tasksInFlight: Number(rows[0]!.tasks), queuedMessages: Number(rows[0]!.messages) }
    },
    async unsettled(taskUuids) {
      if (taskUuids.length === 0) return []
      const { rows } = await client.query<{ task_uuid: string }>(UNSETTLED_SQL, [taskUuids, SETTLED_STATES])
      return rows.map((r) => r.task_uuid)
    },
    close: () => client.end().catch(() => {}),
  }
}

/**
 * Asks the API; the client is the caller's. A deployment may not filter by every state
 * (tasker-core's list filter knows only `pending` — not complete — and `completed`, and fails on
 * other values): a state it answers with an error for is not asked again, and the wait counts what
 * the others report. When it can filter by none, there is nothing to count and backlog() throws.
 */
export function apiProbe(api: TaskerClient): BacklogProbe & { unsupportedStatuses(): string[] } {
  const unsupported = new Set<string>()
  return {
    source: 'api',
    unsupportedStatuses: () => [...unsupported],
    async backlog() {
      let tasks = 0
      for (const status of IN_FLIGHT_STATES) {
        if (unsupported.has(status)) continue
        try {
          tasks += (await api.listTasks({ status, per_page: 1 })).pagination.total_count
        } catch (err) {
          if (err instanceof TaskerApiError) unsupported.add(status)
          else throw err
        }
      }
      if (unsupported.size === IN_FLIGHT_STATES.length) throw new Error(`the API at ${redactUrl(api.baseUrl)} cannot count tasks by state (GET /v1/tasks?status=… failed for every in-flight state)`)
      return { tasksInFlight: tasks, queuedMessages: undefined }
    },
    async unsettled(taskUuids) {
      const settled = new Set<string>(SETTLED_STATES)
      const left: string[] = []
      let next = 0
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < taskUuids.length) {
            const id = taskUuids[next++]!
            if (!settled.has((await api.getTask(id)).status)) left.push(id)
          }
        }),
      )
      return left
    },
    async close() {},
  }
}

export interface IdleWait {
  idle: boolean
  waitedMs: number
  source: 'database' | 'api'
  /** what was in flight when the wait began, and when it ended */
  before: Backlog
  after: Backlog
  /** idle | why the wait ended without it */
  outcome: string
}

export interface WaitOptions {
  timeoutMs: number
  /** end early when the backlog has not changed for this long (default 20 s) */
  stallMs?: number
  pollMs?: number
}

const isIdle = (b: Backlog) => b.tasksInFlight === 0 && (b.queuedMessages ?? 0) === 0
const same = (a: Backlog, b: Backlog) => a.tasksInFlight === b.tasksInFlight && a.queuedMessages === b.queuedMessages

export async function waitUntilIdle(probe: BacklogProbe, options: WaitOptions): Promise<IdleWait> {
  const pollMs = options.pollMs ?? 250
  const stallMs = options.stallMs ?? 20_000
  const t0 = performance.now()
  const before = await probe.backlog()
  let after = before
  let changedAt = t0
  for (;;) {
    const now = performance.now()
    const result = (outcome: string): IdleWait => ({ idle: isIdle(after), waitedMs: Math.round(now - t0), source: probe.source, before, after, outcome })
    if (isIdle(after)) return result('idle')
    if (now - t0 >= options.timeoutMs) return result(`not idle after ${options.timeoutMs} ms (BENCH_IDLE_TIMEOUT_MS)`)
    if (now - changedAt >= stallMs) return result(`no progress for ${stallMs} ms: this backlog is not draining`)
    await new Promise((r) => setTimeout(r, pollMs))
    const next = await probe.backlog()
    if (!same(next, after)) changedAt = performance.now()
    after = next
  }
}

export interface SettleWait {
  settled: boolean
  waitedMs: number
  tasks: number
  unsettled: number
}

/** Waits (bounded) until every one of these tasks is settled. */
export async function waitForTasksSettled(probe: BacklogProbe, taskUuids: readonly string[], options: { timeoutMs: number; pollMs?: number }): Promise<SettleWait> {
  const t0 = performance.now()
  let left = [...taskUuids]
  for (;;) {
    left = await probe.unsettled(left)
    const waitedMs = Math.round(performance.now() - t0)
    if (left.length === 0 || waitedMs >= options.timeoutMs) return { settled: left.length === 0, waitedMs, tasks: taskUuids.length, unsettled: left.length }
    await new Promise((r) => setTimeout(r, options.pollMs ?? 250))
  }
}

/**
 * The orchestrator's database when the suite can reach it: the embedded and compose orchestrators
 * use the run's PostgreSQL; next to an external orchestrator, DATABASE_URL is taken as its database.
 */
export function orchestratorDatabaseUrl(run: RunInfo): string | undefined {
  if (run.orchestrator.mode === 'embedded' || run.orchestrator.mode === 'compose') return run.databaseUrl
  if (run.orchestrator.mode === 'external' && run.postgres.mode === 'external') return run.databaseUrl
  return undefined
}

/** The database probe where the suite can read the orchestrator's database, else the API's; undefined without an orchestrator. */
export async function openBacklogProbe(run: RunInfo, log: (line: string) => void = () => {}): Promise<{ probe: BacklogProbe; close: () => Promise<void> } | undefined> {
  if (!run.orchestratorUrl) return undefined
  const url = orchestratorDatabaseUrl(run)
  if (url) {
    try {
      const probe = await databaseProbe(url, pgLimits(run.settings))
      await probe.backlog() // the schema and pgmq are there to be read
      return { probe, close: () => probe.close() }
    } catch (err) {
      log(`the orchestrator's database cannot be read for the idle check (${(err as Error).message.split('\n')[0]}); asking the API`)
    }
  }
  const api = createTaskerClient(run.orchestratorUrl, 8, taskerClientLimits(run.settings))
  return { probe: apiProbe(api), close: () => api.close() }
}

function describeBacklog(b: Backlog): string {
  return `${b.tasksInFlight} task(s) in flight${b.queuedMessages === undefined ? '' : `, ${b.queuedMessages} queued message(s)`}`
}

export function idleLine(label: string, wait: IdleWait): string {
  return wait.idle
    ? `[${label}] idle after ${wait.waitedMs} ms (${wait.source}; ${describeBacklog(wait.before)} at the start)`
    : `[${label}] measuring without an idle system: ${wait.outcome}; ${describeBacklog(wait.after)} (${wait.source})`
}

/**
 * In a bench file: before its first test, wait (bounded by BENCH_IDLE_TIMEOUT_MS) until the
 * system is idle, print one line, and record the wait with every result of the file
 * (`idleBeforeFirstSample`). Without an orchestrator there is nothing to wait for.
 */
export function waitForIdleBeforeFirstSample(run: RunInfo, label: string): void {
  let recorded: Record<string, unknown> | undefined
  beforeAll(async () => {
    const timeoutMs = run.settings.BENCH_IDLE_TIMEOUT_MS
    if (timeoutMs === 0) {
      recorded = { skipped: 'BENCH_IDLE_TIMEOUT_MS=0' }
      return
    }
    const opened = await openBacklogProbe(run, (line) => console.log(`[${label}] ${line}`))
    if (!opened) {
      recorded = { skipped: 'no orchestrator' }
      return
    }
    try {
      const wait = await waitUntilIdle(opened.probe, { timeoutMs })
      const unsupported = 'unsupportedStatuses' in opened.probe ? (opened.probe as ReturnType<typeof apiProbe>).unsupportedStatuses() : []
      console.log(idleLine(label, wait) + (unsupported.length ? `; the API cannot filter by ${unsupported.join(', ')}` : ''))
      recorded = { ...wait, ...(unsupported.length ? { unsupportedStatuses: unsupported } : {}) }
    } catch (err) {
      // The check is a precaution: when it cannot be made, say so and measure anyway.
      const reason = (err as Error).message.split('\n')[0]!
      console.log(`[${label}] could not check that the system is idle: ${reason}`)
      recorded = { skipped: reason }
    } finally {
      await opened.close()
    }
  }, run.settings.BENCH_IDLE_TIMEOUT_MS + 60_000)
  beforeEach(({ task }) => {
    if (recorded) annotateResult(task, { idleBeforeFirstSample: recorded })
  })
  afterAll(() => {
    recorded = undefined
  })
}
