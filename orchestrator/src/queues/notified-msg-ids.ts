/**
 * The msg_ids a `pgmq_message_ready.<namespace>` notification names for `queue`
 * (docs/contract.md: msg_id for message_with_payload and message_ready, msg_ids for batch_ready),
 * or undefined when it names none for that queue (another queue of the namespace, a payload
 * that is not ours): the caller then reads the queue.
 *
 * Any role may NOTIFY, so an id is taken only if it can name a pgmq message: a positive safe
 * integer, or a decimal string up to bigint's maximum. Any other id (out of the bigint range,
 * not a number) is left out on its own, and reported to `onIgnored`, so that one bad id cannot
 * fail the claim of the whole batch.
 */
const BIGINT_MAX = 9_223_372_036_854_775_807n

export function notifiedMsgIds(payload: string, queue: string, onIgnored?: (ids: unknown[]) => void): string[] | undefined {
  let n: { queue_name?: unknown; msg_id?: unknown; msg_ids?: unknown }
  try {
    n = JSON.parse(payload) as typeof n
  } catch {
    return undefined
  }
  if (typeof n !== 'object' || n === null || typeof n.queue_name !== 'string' || n.queue_name.toLowerCase() !== queue.toLowerCase()) return undefined
  const named: unknown[] = Array.isArray(n.msg_ids) ? n.msg_ids : n.msg_id === undefined ? [] : [n.msg_id]
  const ids = named.filter(isMsgId).map(String)
  if (ids.length < named.length) onIgnored?.(named.filter((id) => !isMsgId(id)))
  return ids.length === 0 ? undefined : ids
}

/** Whether a notification's id can name a pgmq message (bigint msg_id ≥ 1). */
export function isMsgId(id: unknown): boolean {
  if (typeof id === 'number') return Number.isSafeInteger(id) && id > 0
  return typeof id === 'string' && /^[1-9][0-9]{0,18}$/.test(id) && BigInt(id) <= BIGINT_MAX
}
