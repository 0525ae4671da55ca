/**
 * The peer's statements. graphile-worker's own public SQL function adds jobs where a job must be
 * added inside our transaction: graphile_worker.add_job(identifier text, payload json, …) — the
 * function its addJob() helper calls (graphile-worker 0.18.0, sql/000020.sql).
 */
import { arriveAtJoins, insertJoinCounters } from '../join-counters.ts'

export const TASK_IDENTIFIER = 'peer_step'
export const DONE_CHANNEL = 'peer_baseline_done'

/** A new task in one statement: its join counters and its root jobs. */
export const START_TASK = `
WITH counters AS (
  ${insertJoinCounters('peer_baseline', { task: '$1', steps: '$2', remaining: '$3' })}
)
SELECT count(graphile_worker.add_job($4, payload)) AS added FROM unnest($5::json[]) AS payload`

export const ARRIVE_AT_JOINS = arriveAtJoins('peer_baseline', { task: '$1', steps: '$2', value: '$3', trail: '$4' })

export const ADD_JOB = `SELECT graphile_worker.add_job($1, $2::json)`

export const NOTIFY_DONE = `SELECT pg_notify($1, $2)`
