/**
 * Every statement of the floor, parameterised. pgmq is called through its public functions with
 * pgmq 1.5.1's signatures (pgmq.read(queue, vt, qty), pgmq.send_batch(queue, jsonb[]),
 * pgmq.delete(queue, msg_id) → boolean), so the floor runs on the real extension and on the
 * project's pgmq-compatible SQL alike.
 */
export const QUEUE = 'floor_steps'
/** every worker LISTENs here; a send NOTIFYs it in the same transaction (delivered at commit) */
export const WAKE_CHANNEL = 'floor_baseline_wake'
/** a task's last step NOTIFYs here with { t, v, tr } */
export const DONE_CHANNEL = 'floor_baseline_done'
/** the pseudo-step that counts a task's sinks when it has more than one */
export const COMPLETION_JOIN = '$done'

export const CREATE_QUEUE = `SELECT pgmq.create($1)`

/** A new task in one statement: its join counters, its root messages, the wake-up. */
export const START_TASK = `
WITH counters AS (
  INSERT INTO floor_baseline.joins (task_id, step, remaining)
  SELECT $2::uuid, j.step, j.remaining FROM unnest($3::text[], $4::int[]) AS j(step, remaining)
), sent AS (
  SELECT pgmq.send_batch($1, $5::jsonb[]) AS msg_id
)
SELECT count(*)::int AS sent, pg_notify($6, '') FROM sent`

/** Claims up to qty messages (SKIP LOCKED inside pgmq.read), hidden for vt seconds. */
export const READ = `SELECT msg_id, message FROM pgmq.read($1, $2, $3)`

/**
 * Inside the step's transaction: removing the message is what makes the step's effects
 * exactly-once. A second runner of the same message (its visibility timeout ran out) blocks on the
 * row until the first commits, then finds it gone and rolls back.
 */
export const DELETE = `SELECT pgmq.delete($1, $2::bigint) AS deleted`

/**
 * A step none of whose children is a join, in one statement (one round trip, one transaction):
 * delete the message and, only when this runner deleted it, send the children with the wake-up
 * and NOTIFY the completion ($5, null unless this is the task's last step). CASE evaluates a branch
 * only when it is taken; the uncorrelated sub-select in it runs on first use, i.e. never for a
 * runner that lost the message.
 */
export const RUN_SIMPLE_STEP = `
WITH claimed AS MATERIALIZED (SELECT pgmq.delete($1, $2::bigint) AS deleted)
SELECT deleted,
       CASE WHEN deleted AND cardinality($3::jsonb[]) > 0 THEN (SELECT count(*)::int FROM pgmq.send_batch($1, $3::jsonb[])) END AS sent,
       CASE WHEN deleted AND cardinality($3::jsonb[]) > 0 THEN pg_notify($4, '') END AS woke,
       CASE WHEN deleted AND $5::text IS NOT NULL THEN pg_notify($6, $5::text) END AS announced
  FROM claimed`

/** This parent is done for these join children: count down, keep its value and trail. */
export const ARRIVE_AT_JOINS = `
UPDATE floor_baseline.joins
   SET remaining = remaining - 1,
       parent_values = parent_values || to_jsonb($3::bigint),
       trail = trail || $4::jsonb
 WHERE task_id = $1::uuid AND step = ANY($2::text[])
RETURNING step, remaining, parent_values, trail`

export const SEND_AND_WAKE = `SELECT count(*)::int AS sent, pg_notify($3, '') FROM pgmq.send_batch($1, $2::jsonb[]) AS msg_id`

export const NOTIFY_DONE = `SELECT pg_notify($1, $2)`
