/** Small helpers of the SQL bench: argument cycling, batches of sampled tasks, rolled-back calls. */
import type pg from 'pg'
import type { DatasetSample } from '../dataset/sample.ts'

/** Consecutive windows of `size` sampled tasks, one per sampled task, wrapping around. */
export function batchesOf(sample: DatasetSample, size: number): string[][] {
  const ids = sample.tasks.map((t) => t.taskUuid)
  return ids.map((_, i) => Array.from({ length: Math.min(size, ids.length) }, (_, k) => ids[(i + k) % ids.length]!))
}

/** The items in turn, forever. */
export function cycle<T>(items: T[]): () => T {
  let i = 0
  return () => items[i++ % items.length]!
}

/** `fn` inside a transaction that is rolled back (get_next_ready_tasks claims what it returns). */
export async function inRolledBack<T>(client: pg.ClientBase, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN')
  try {
    return await fn()
  } finally {
    await client.query('ROLLBACK')
  }
}

/** One sample of a claiming call: timed alone, inside a transaction that is rolled back. */
export async function timedInRolledBack(client: pg.ClientBase, query: pg.QueryConfig): Promise<{ overriddenDuration: number }> {
  await client.query('BEGIN')
  try {
    const t0 = performance.now()
    await client.query(query)
    return { overriddenDuration: performance.now() - t0 }
  } finally {
    await client.query('ROLLBACK')
  }
}

/** A bench function calling one named prepared statement with the next arguments in turn. */
export function preparedCall(client: pg.ClientBase, name: string, text: string, args: () => unknown[]): () => Promise<void> {
  return async () => {
    await client.query({ name, text, values: args() })
  }
}

/** A prepared call taking one argument, the items in turn. */
export function cycledCall(client: pg.ClientBase, name: string, text: string, items: unknown[]): () => Promise<void> {
  const next = cycle(items)
  return preparedCall(client, name, text, () => [next()])
}
