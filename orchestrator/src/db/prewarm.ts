/**
 * Opens every connection of a pool at start-up and runs the hot statements once on each, with
 * arguments that match nothing. A cold connection costs a step ~15 ms to open and then several
 * ms per statement on first use (parse, generic plan, the backend's catalog caches); the pool
 * opens connections only when concurrency first reaches them, so without this those costs land
 * on some unlucky task in the middle of a run — the latency tail. Best effort: returns the first
 * error (for a warning) rather than failing the start.
 */
import type pg from 'pg'

export async function prewarmPool(pool: pg.Pool, size: number, warm: (client: pg.PoolClient) => Promise<unknown>): Promise<Error | undefined> {
  const errors: Error[] = []
  const clients: pg.PoolClient[] = []
  for (const result of await Promise.allSettled(Array.from({ length: size }, () => pool.connect()))) {
    if (result.status === 'fulfilled') clients.push(result.value)
    else errors.push(result.reason as Error)
  }
  // All held at once, so each warm-up runs on its own connection.
  await Promise.all(
    clients.map(async (client) => {
      try {
        await warm(client)
        client.release()
      } catch (err) {
        errors.push(err as Error)
        client.release(err as Error) // discarded: it may be left mid-transaction
      }
    }),
  )
  return errors[0]
}
