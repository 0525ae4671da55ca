/**
 * The enqueue tracker keeps only the latest KEPT_ANNOUNCEMENTS: a long run's announcements do not
 * pile up in the bench process, a wait from a dropped position says so, and the latest are found.
 */
import { describe, expect, test } from 'vitest'
import { createEnqueueTracker, KEPT_ANNOUNCEMENTS } from '../harness/bench/tasker/enqueue-tracker.ts'
import { usePostgres } from './support/postgres.ts'

const db = usePostgres()
const NAMESPACE = 'tracked'
const CHANNEL = `pgmq_message_ready.${NAMESPACE}`

/** One message_with_payload announcement per task, as pgmq_send_with_notify sends them. */
async function announce(tasks: string[]): Promise<void> {
  await db.pool.query(
    `SELECT pg_notify($1, json_build_object('event_type', 'message_with_payload', 'message', json_build_object('task_uuid', t))::text)
     FROM unnest($2::text[]) t`,
    [CHANNEL, tasks],
  )
}

describe('enqueue tracker', () => {
  test(`keeps the latest ${KEPT_ANNOUNCEMENTS} announcements; a wait from a dropped position fails saying so`, async () => {
    const tracker = await createEnqueueTracker(db.server.url, NAMESPACE)
    try {
      const first = tracker.mark()
      await announce(['first'])
      // Well past the bound, each distinct (NOTIFY folds identical payloads of one transaction).
      const fillers = Array.from({ length: Math.ceil(KEPT_ANNOUNCEMENTS * 1.5) }, (_, i) => `filler-${i}`)
      await announce(fillers)
      await announce(['last'])
      // Found once every announcement before it has arrived (one connection: in order).
      await expect(tracker.waitForMessages('last', 1, first + 1 + fillers.length, 30_000)).resolves.toBeGreaterThan(0)
      expect(tracker.mark() - first).toBe(fillers.length + 2)
      await expect(tracker.waitForMessages('first', 1, first, 1_000)).rejects.toThrow(
        new RegExp(`^task first: announcements on ${CHANNEL.replace('.', '\\.')} from position ${first} on were dropped \\(only the latest ${KEPT_ANNOUNCEMENTS} are kept\\)`),
      )
      const recent = fillers.at(-KEPT_ANNOUNCEMENTS / 2)!
      await expect(tracker.waitForMessages(recent, 1, first + 1 + fillers.length - KEPT_ANNOUNCEMENTS / 2, 1_000)).resolves.toBeGreaterThan(0)
      expect(tracker.takeCounts()).toEqual({ message_with_payload: fillers.length + 2 })
    } finally {
      await tracker.close()
    }
  })
})
