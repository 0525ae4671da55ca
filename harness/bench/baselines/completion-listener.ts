/**
 * The end of a baseline sample, defined as in the E2E bench: the moment the completion NOTIFY
 * arrives (timestamped in the notification handler). One dedicated LISTEN connection per
 * baseline; a waiter is registered before the task starts, so no completion can come early.
 */
import { connectPg } from '../../db/connect.ts'

/** A task's completion payload (floor and peer alike). */
export interface TaskCompletion {
  /** task id */
  t: string
  /** the sinks' values by step name (empty when a task has several sinks, floor only) */
  v: Record<string, number>
  /** the steps that ran, each once, every one after its parents */
  tr: string[]
}

export interface Completed {
  completion: TaskCompletion
  /** performance.now() when the notification arrived */
  at: number
}

export interface CompletionListener {
  /** Register before starting the task; resolves on its completion, rejects after timeoutMs. */
  expect(taskId: string, timeoutMs: number): Promise<Completed>
  /** completions that arrived for no waiter (a duplicate completion, for the tests) */
  unexpected(): TaskCompletion[]
  close(): Promise<void>
}

const CHANNEL = /^[a-z_][a-z0-9_]*$/

export async function listenForCompletions(databaseUrl: string, channel: string, label: string): Promise<CompletionListener> {
  if (!CHANNEL.test(channel)) throw new Error(`${label}: invalid channel name ${JSON.stringify(channel)}`)
  // (connectPg: a server stopping at teardown does not crash the process; pending waits time out and say so)
  const client = await connectPg(databaseUrl, `${label} completion listener`)
  const waiting = new Map<string, (c: Completed) => void>()
  const strays: TaskCompletion[] = []
  client.on('notification', (n) => {
    const at = performance.now()
    let completion: TaskCompletion
    try {
      completion = JSON.parse(n.payload ?? '') as TaskCompletion
    } catch {
      return
    }
    const waiter = waiting.get(completion.t)
    if (!waiter) return void strays.push(completion)
    waiting.delete(completion.t)
    waiter({ completion, at })
  })
  await client.query(`LISTEN ${channel}`)
  return {
    expect(taskId, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(taskId)
          reject(new Error(`${label}: task ${taskId} did not complete within ${timeoutMs} ms (no NOTIFY on ${channel})`))
        }, timeoutMs)
        waiting.set(taskId, (c) => {
          clearTimeout(timer)
          resolve(c)
        })
      })
    },
    unexpected: () => [...strays],
    close: () => client.end().catch(() => {}),
  }
}
