/**
 * claimSteps for the messages a notification named (by msg_id) rather than the oldest visible
 * ones: a worker woken for one message leases that message, found by its primary key, instead of
 * scanning the queue. Every worker hears every notification, so all but one find the message
 * taken (leased or locked: SKIP LOCKED) and come back empty after one index probe; a message not
 * yet visible (sent with a delay) is left to the fallback poll, as a full read would leave it.
 */
import type pg from 'pg'
import { prepared, type Queryable } from '../pool.ts'
import { claimSql, type ClaimedMessage } from './claim-steps.ts'

const statements = new Map<string, (values: unknown[]) => pg.QueryConfig>()

function claimByIdStatement(queue: string) {
  let statement = statements.get(queue)
  if (!statement) {
    statement = prepared(
      `claim_steps_by_id_${queue}`,
      claimSql(
        queue,
        `SELECT msg_id FROM $TABLE
     WHERE msg_id = ANY ($2::bigint[]) AND vt <= clock_timestamp()
     ORDER BY msg_id
     FOR UPDATE SKIP LOCKED`,
      ),
    )
    statements.set(queue, statement)
  }
  return statement
}

export async function claimStepsById(q: Queryable, queue: string, vtSeconds: number, msgIds: string[], workerId: string): Promise<ClaimedMessage[]> {
  if (msgIds.length === 0) return []
  const { rows } = await q.query<ClaimedMessage>(claimByIdStatement(queue)([vtSeconds, msgIds, workerId]))
  return rows
}
