/**
 * How the end-to-end bench knows a task is done.
 * - event: a trigger on tasker.task_transitions NOTIFYs on a final state; the sample ends when
 *   the notification arrives (timestamped in the event handler). Needs write access to the
 *   orchestrator's database (a database the run owns, or BENCH_SEED=true).
 * - poll: GET /v1/tasks/{uuid} every interval until execution_status is all_complete. With 50 ms
 *   it reproduces tasker-core's published method, polling delay included.
 */
import { readFileSync } from 'node:fs'
import { connectPg } from '../db/connect.ts'
import type { TaskerClient, TaskView } from './api-client.ts'
import { ArrivalBuffer, parseTaskFinished, type ArrivalBufferOptions } from './completion-arrivals.ts'

export interface Completion {
  state: string
  /** performance.now() when the completion was observed */
  at: number
}

/** Recorded with the results: what the watcher ignored or dropped on the way. */
export interface CompletionStats {
  /** notifications on the channel whose payload was not the trigger's JSON (ignored) */
  malformedPayloads: number
  /** completions nobody asked for, dropped to keep the buffer bounded */
  droppedArrivals: number
  /** completions held right now, waiting to be asked for */
  buffered: number
}

export interface CompletionWatcher {
  mode: 'event' | 'poll'
  pollIntervalMs: number | undefined
  stats(): CompletionStats
  /** Call right after creating the task; resolves when it is complete, rejects on failure/timeout. */
  wait(taskUuid: string, timeoutMs: number): Promise<Completion>
  close(): Promise<void>
}

const CHANNEL = 'tasker_bench_task_finished'
const TRIGGER_SQL = readFileSync(new URL('./completion-trigger.sql', import.meta.url), 'utf8')

export class TaskFailedError extends Error {
  override name = 'TaskFailedError'
}

export interface EventWatcherOptions {
  /**
   * `install` (default): this watcher installs the trigger and drops it on close. `existing`: it
   * only listens — for several watchers at once (the distributed load's generators), where one
   * owner installs the trigger before they start and drops it after they end.
   */
  trigger?: 'install' | 'existing'
}

export async function createEventWatcher(databaseUrl: string, api: TaskerClient, buffer: ArrivalBufferOptions = {}, options: EventWatcherOptions = {}): Promise<CompletionWatcher> {
  const owner = (options.trigger ?? 'install') === 'install'
  // (connectPg: the server stopping at teardown does not crash the worker; waits time out with the task's state)
  const client = await connectPg(databaseUrl, 'completion watcher')
  if (owner) await client.query(TRIGGER_SQL)
  await client.query(`LISTEN ${CHANNEL}`)
  // Completions can arrive before the POST's response does: keep them (bounded) until someone asks.
  const arrived = new ArrivalBuffer<Completion>(buffer)
  const waiting = new Map<string, (c: Completion) => void>()
  let malformed = 0
  client.on('notification', (msg) => {
    const at = performance.now()
    const finished = parseTaskFinished(msg.payload)
    if (!finished) {
      malformed++
      return
    }
    const waiter = waiting.get(finished.task_uuid)
    if (waiter) waiter({ state: finished.state, at })
    else arrived.put(finished.task_uuid, { state: finished.state, at })
  })
  return {
    mode: 'event',
    pollIntervalMs: undefined,
    stats: () => ({ malformedPayloads: malformed, droppedArrivals: arrived.dropped, buffered: arrived.size }),
    async wait(taskUuid, timeoutMs) {
      const done = await new Promise<Completion>((resolve, reject) => {
        const early = arrived.take(taskUuid)
        if (early) return resolve(early)
        const timer = setTimeout(() => {
          waiting.delete(taskUuid)
          reject(new Error('timeout'))
        }, timeoutMs)
        waiting.set(taskUuid, (c) => {
          clearTimeout(timer)
          waiting.delete(taskUuid)
          resolve(c)
        })
      }).catch(async () => {
        throw await describeUnfinished(api, taskUuid, `not complete after ${timeoutMs} ms`)
      })
      if (done.state !== 'complete') throw await describeUnfinished(api, taskUuid, `reached state ${done.state}`)
      return done
    },
    async close() {
      if (owner) await client.query('DROP TRIGGER IF EXISTS tasker_bench_task_finished ON tasker.task_transitions').catch(() => {})
      await client.end()
    },
  }
}

export function createPollWatcher(api: TaskerClient, pollIntervalMs: number): CompletionWatcher {
  return {
    mode: 'poll',
    pollIntervalMs,
    stats: () => ({ malformedPayloads: 0, droppedArrivals: 0, buffered: 0 }),
    async wait(taskUuid, timeoutMs) {
      const deadline = performance.now() + timeoutMs
      for (;;) {
        const task = await api.getTask(taskUuid)
        const at = performance.now()
        if (task.execution_status === 'all_complete') return { state: task.status, at }
        if (task.execution_status === 'blocked_by_failures' || task.status === 'error') {
          throw await describeUnfinished(api, taskUuid, `is ${task.execution_status}`, task)
        }
        if (at > deadline) throw await describeUnfinished(api, taskUuid, `not complete after ${timeoutMs} ms`, task)
        await new Promise((r) => setTimeout(r, pollIntervalMs))
      }
    },
    async close() {},
  }
}

/** A failed or stuck task fails the bench with its id, status and steps, not a hang. */
async function describeUnfinished(api: TaskerClient, taskUuid: string, what: string, known?: TaskView): Promise<TaskFailedError> {
  const task = known ?? (await api.getTask(taskUuid).catch(() => undefined))
  if (!task) return new TaskFailedError(`task ${taskUuid} ${what}; its view could not be read`)
  const steps = (task.steps ?? []).map((s) => `${s.name}=${s.current_state}`).join(', ')
  return new TaskFailedError(
    `task ${taskUuid} (correlation ${task.correlation_id}) ${what}: status ${task.status}, execution ${task.execution_status}, steps [${steps}]`,
  )
}
