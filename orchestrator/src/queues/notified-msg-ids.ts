/**
 * The msg_ids a `pgmq_message_ready.<namespace>` notification names for `queue`
 * (docs/contract.md: msg_id for message_with_payload and message_ready, msg_ids for batch_ready),
 * or undefined when it names none for that queue (another queue of the namespace, a payload
 * that is not ours): the caller then reads the queue.
 */
export function notifiedMsgIds(payload: string, queue: string): string[] | undefined {
  let n: { queue_name?: unknown; msg_id?: unknown; msg_ids?: unknown }
  try {
    n = JSON.parse(payload) as typeof n
  } catch {
    return undefined
  }
  if (typeof n !== 'object' || n === null || typeof n.queue_name !== 'string' || n.queue_name.toLowerCase() !== queue.toLowerCase()) return undefined
  const ids = Array.isArray(n.msg_ids) ? n.msg_ids : [n.msg_id]
  if (ids.length === 0 || !ids.every((id) => (typeof id === 'number' && Number.isSafeInteger(id) && id > 0) || (typeof id === 'string' && /^[1-9][0-9]{0,18}$/.test(id)))) return undefined
  return ids.map(String)
}
