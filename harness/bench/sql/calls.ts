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
