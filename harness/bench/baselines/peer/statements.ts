/**
 * The peer's statements. graphile-worker's own public SQL function adds jobs where a job must be
 * added inside our transaction: graphile_worker.add_job(identifier text, payload json, …) — the
 * function its addJob() helper calls (graphile-worker 0.18.0, sql/000020.sql).
 */
export const TASK_IDENTIFIER = 'peer_step'
export const DONE_CHANNEL = 'peer_baseline_done'

/** A new task in one statement: its join counters and its root jobs. */
export const START_TASK = `
WITH counters AS (
  INSERT INTO peer_baseline.joins (task_id, step, remaining)
  SELECT $1::uuid, j.step, j.remaining FROM unnest($2::text[], $3::int[]) AS j(step, remaining)
)
SELECT count(graphile_worker.add_job($4, payload)) AS added FROM unnest($5::json[]) AS payload`

export const ARRIVE_AT_JOINS = `
UPDATE peer_baseline.joins
   SET remaining = remaining - 1,
       parent_values = parent_values || to_jsonb($3::bigint),
       trail = trail || $4::jsonb
 WHERE task_id = $1::uuid AND step = ANY($2::text[])
RETURNING step, remaining, parent_values, trail`

export const ADD_JOB = `SELECT graphile_worker.add_job($1, $2::json)`

export const NOTIFY_DONE = `SELECT pg_notify($1, $2)`
