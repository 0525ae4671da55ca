/**
 * Opens every connection of a pool at start-up and runs the hot statements once on each, with
 * arguments that match nothing. A cold connection costs a step ~15 ms to open and then several
 * ms per statement on first use (parse, generic plan, the backend's catalog caches); the pool
 * opens connections only when concurrency first reaches them, so without this those costs land
 * on some unlucky task in the middle of a run — the latency tail.
 */
import type pg from 'pg'

export async function prewarmPool(pool: pg.Pool, size: number, warm: (client: pg.PoolClient) => Promise<unknown>): Promise<void> {
  const clients: pg.PoolClient[] = []
  try {
    for (const result of await Promise.allSettled(Array.from({ length: size }, () => pool.connect()))) {
      if (result.status === 'fulfilled') clients.push(result.value)
    }
    await Promise.all(clients.map((c) => warm(c)))
  } finally {
    for (const c of clients) c.release()
  }
}
