/**
 * Watches a namespace's `pgmq_message_ready.<namespace>` channel and tells when the n-th message
 * of a task was announced. Notifications are timestamped in the LISTEN connection's event handler
 * and kept until asked for (they can arrive before the POST that caused them has answered). A
 * batch announcement names its msg_ids only: which task they belong to is looked up in the queue
 * (or its archive, once handled) on a second connection, after the fact. Only the latest
 * KEPT_ANNOUNCEMENTS are kept: a bench marks the stream right before each task, so it needs the
 * few since; a run that announces millions does not grow the list with them.
 */
import { connectPg } from '../../db/connect.ts'
import { useCatalogSearchPath } from '../../db/with-client.ts'

/** Announcements kept for waitForMessages; older ones are dropped. */
export const KEPT_ANNOUNCEMENTS = 10_000

/** pgmq queue names become table names (q_<name>, a_<name>): only these characters are quoted into SQL. */
const QUEUE_NAME = /^[a-z0-9_]{1,47}$/


interface Announcement {
  /** performance.now() when the notification arrived */
  at: number
  /** messages it announces */
  count: number
  /** the task, when the payload carries the message */
  taskUuid: string | undefined
  /** msg ids to look up when it does not */
  msgIds: string[]
}

export interface EnqueueTracker {
  /** Position in the stream; announcements from here on are candidates for the next task. */
  mark(): number
  /** When the n-th message of the task was announced (performance.now() clock). */
  waitForMessages(taskUuid: string, n: number, from: number, timeoutMs: number): Promise<number>
  /** Notifications by event_type since the last call (batch_ready: one per task). */
  takeCounts(): Record<string, number>
  close(): Promise<void>
}

export async function createEnqueueTracker(databaseUrl: string, namespace: string): Promise<EnqueueTracker> {
  const channel = `pgmq_message_ready.${namespace}`
  const queue = `worker_${namespace}_queue`
  if (!QUEUE_NAME.test(queue)) throw new Error(`namespace ${namespace}: its queue name ${queue} is not a plain pgmq queue name (a-z, 0-9, _)`)
  // (connectPg: the server stopping at teardown does not crash the worker)
  const [listener, lookup] = await Promise.all([connectPg(databaseUrl, 'enqueue tracker listener'), connectPg(databaseUrl, 'enqueue tracker lookup')])
  // The database may be a deployment's: the lookups' operators are pg_catalog's.
  await useCatalogSearchPath(lookup)
  /** The latest announcements; seen[0] is at position `dropped` of the stream. */
  let seen: Announcement[] = []
  let dropped = 0
  const keep = (a: Announcement) => {
    seen.push(a)
    if (seen.length > KEPT_ANNOUNCEMENTS + KEPT_ANNOUNCEMENTS / 10) {
      // Trimmed a tenth at a time, not one entry per announcement.
      const excess = seen.length - KEPT_ANNOUNCEMENTS
      seen = seen.slice(excess)
      dropped += excess
    }
  }
  let kinds: Record<string, number> = {}
  let wake: (() => void) | undefined

  listener.on('notification', (msg) => {
    const at = performance.now()
    let body: { event_type?: string; message?: { task_uuid?: string }; msg_id?: number | string; msg_ids?: (number | string)[]; message_count?: number }
    try {
      body = JSON.parse(msg.payload ?? '{}') as typeof body
    } catch {
      body = { event_type: 'malformed' } // counted with the announcements, never thrown from the listener
    }
    const kind = body?.event_type ?? 'unknown'
    kinds[kind] = (kinds[kind] ?? 0) + 1
    if (kind === 'message_with_payload') keep({ at, count: 1, taskUuid: body.message?.task_uuid, msgIds: [] })
    else if (kind === 'batch_ready') keep({ at, count: body.message_count ?? body.msg_ids?.length ?? 0, taskUuid: undefined, msgIds: (body.msg_ids ?? []).map(String) })
    else if (kind === 'message_ready') keep({ at, count: 1, taskUuid: undefined, msgIds: body.msg_id === undefined ? [] : [String(body.msg_id)] })
    wake?.()
  })
  await listener.query(`LISTEN "${channel}"`)

  /** The tasks of announced messages, by msg id, from the queue or (already handled) its archive. */
  async function resolve(a: Announcement): Promise<string[]> {
    if (a.msgIds.length === 0) return []
    const { rows } = await lookup.query<{ task_uuid: string }>(
      `SELECT message->>'task_uuid' AS task_uuid FROM pgmq."q_${queue}" WHERE msg_id = ANY($1::bigint[])
       UNION ALL
       SELECT message->>'task_uuid' AS task_uuid FROM pgmq."a_${queue}" WHERE msg_id = ANY($1::bigint[])`,
      [a.msgIds],
    )
    return rows.map((r) => r.task_uuid)
  }

  return {
    mark: () => dropped + seen.length,
    async waitForMessages(taskUuid, n, from, timeoutMs) {
      const deadline = performance.now() + timeoutMs
      let counted = 0
      let next = from
      for (;;) {
        while (next < dropped + seen.length) {
          if (next < dropped) {
            throw new Error(
              `task ${taskUuid}: announcements on ${channel} from position ${next} on were dropped (only the latest ${KEPT_ANNOUNCEMENTS} are kept): mark the stream right before creating the task`,
            )
          }
          const a = seen[next++ - dropped]!
          if (a.taskUuid !== undefined) counted += a.taskUuid === taskUuid ? a.count : 0
          else if (a.msgIds.length > 0) counted += (await resolve(a)).filter((t) => t === taskUuid).length
          // A batch too large to list its ids: the namespace is this bench's alone, so it is ours.
          else counted += a.count
          if (counted >= n) return a.at
        }
        const left = deadline - performance.now()
        if (left <= 0) throw new Error(`task ${taskUuid}: ${counted} of ${n} root step messages announced on ${channel} within ${timeoutMs} ms`)
        await new Promise<void>((r) => {
          const timer = setTimeout(r, left)
          wake = () => {
            clearTimeout(timer)
            wake = undefined
            r()
          }
        })
      }
    },
    takeCounts() {
      const taken = kinds
      kinds = {}
      return taken
    },
    async close() {
      await Promise.allSettled([listener.end(), lookup.end()])
    },
  }
}
