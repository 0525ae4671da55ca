/**
 * Every statement of the floor, parameterised: four in all (create the queue, start a task, read,
 * run a step). pgmq is called through its public functions with pgmq 1.5.1's signatures
 * (pgmq.read(queue, vt, qty), pgmq.send_batch(queue, msgs, headers, delay timestamptz),
 * pgmq.delete(queue, msg_id) → boolean), so the floor runs on the real extension and on the
 * project's pgmq-compatible SQL alike. send_batch is called in its full form: the short
 * send_batch(queue, msgs) only calls it, one SQL-function layer more per send.
 */
import { arriveAtJoins, insertJoinCounters } from '../join-counters.ts'

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
  ${insertJoinCounters('floor_baseline', { task: '$2', steps: '$3', remaining: '$4' })}
), sent AS (
  SELECT pgmq.send_batch($1, $5::jsonb[], NULL::jsonb[], clock_timestamp()) AS msg_id
)
SELECT count(*)::int AS sent, pg_notify($6, '') FROM sent`

/** Claims up to qty messages (SKIP LOCKED inside pgmq.read), hidden for vt seconds. */
export const READ = `SELECT msg_id, message FROM pgmq.read($1, $2, $3)`

/**
 * A whole step in one statement (one round trip, one transaction), for every kind of step:
 * 1. delete the message ($1, $2): the exactly-once guard. A second runner of the same message
 *    (its visibility timeout ran out) blocks on the row until the first commits, then deletes
 *    nothing, and every later part is conditioned on `deleted`;
 * 2. count down the join children ($4: the children with several parents, and COMPLETION_JOIN
 *    for a last step of a task with several), keeping this parent's value ($5) and trail ($6);
 *    the row lock orders concurrent parents, so exactly one of them sees 0;
 * 3. send the ready children — the single-parent ones ($7) and every join that reached 0 (the
 *    task's base message $8 with the join's step, values and trail) — and NOTIFY the workers;
 * 4. NOTIFY the completion: $9 for a task's only last step, or, when COMPLETION_JOIN reached 0,
 *    one built from its trail (each step once, in the order first seen).
 * CASE evaluates a branch only when taken, so a runner that lost the message sends nothing.
 */
export const RUN_STEP = `
WITH claimed AS MATERIALIZED (SELECT pgmq.delete($1, $2::bigint) AS deleted),
arrived AS (
  ${arriveAtJoins('floor_baseline', { task: '$3', steps: '$4', value: '$5', trail: '$6', when: '(SELECT deleted FROM claimed)' })}
),
ready AS (
  SELECT array_agg(m) AS msgs, count(*)::int AS n FROM (
    SELECT m FROM unnest($7::jsonb[]) AS m WHERE (SELECT deleted FROM claimed)
    UNION ALL
    SELECT $8::jsonb || jsonb_build_object('s', step, 'pv', parent_values, 'tr', trail) FROM arrived WHERE remaining = 0 AND step <> '${COMPLETION_JOIN}'
  ) AS r
),
finished AS (
  SELECT (SELECT jsonb_agg(s ORDER BY o) FROM (SELECT s, min(o) AS o FROM jsonb_array_elements_text(trail) WITH ORDINALITY AS e(s, o) GROUP BY s) AS d) AS trail
    FROM arrived WHERE remaining = 0 AND step = '${COMPLETION_JOIN}'
)
SELECT c.deleted,
       (SELECT count(*)::int FROM arrived) AS arrived,
       CASE WHEN r.n > 0 THEN (SELECT count(*)::int FROM pgmq.send_batch($1, r.msgs, NULL::jsonb[], clock_timestamp())) END AS sent,
       CASE WHEN r.n > 0 THEN pg_notify($10, '') END AS woke,
       CASE WHEN c.deleted AND $9::text IS NOT NULL THEN pg_notify($11, $9::text)
            WHEN f.trail IS NOT NULL THEN pg_notify($11, json_build_object('t', $3::uuid, 'v', '{}'::json, 'tr', f.trail)::text) END AS announced
  FROM claimed AS c CROSS JOIN ready AS r LEFT JOIN finished AS f ON true`
