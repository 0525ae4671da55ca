/**
 * Every statement of the minimal chain: plain SQL on its own tables, no queue extension, no
 * function layer. Three statements in all: start a task, claim, finish a step.
 */
import { arriveAtJoins, insertJoinCounters } from '../join-counters.ts'

/** the in-process runner LISTENs here; every insert of step rows NOTIFYs it (delivered at commit) */
export const WAKE_CHANNEL = 'minimal_chain_wake'
/** a task's last step NOTIFYs here with { t, v, tr } */
export const DONE_CHANNEL = 'minimal_chain_done'

/** A new task in one statement: its join counters, its root rows, the wake-up. */
export const START_TASK = `
WITH counters AS (
  ${insertJoinCounters('minimal_chain', { task: '$1', steps: '$2', remaining: '$3' })}
), sent AS (
  INSERT INTO minimal_chain.steps (message) SELECT m FROM unnest($4::jsonb[]) AS m RETURNING id
)
SELECT count(*)::int AS sent, pg_notify($5, '') FROM sent`

/**
 * Claims up to $1 unclaimed rows, oldest first. SKIP LOCKED: concurrent claims take different
 * rows; the committed `claimed = true` is what keeps a row from running twice.
 */
export const CLAIM = `
UPDATE minimal_chain.steps AS s SET claimed = true
  FROM (SELECT id FROM minimal_chain.steps WHERE NOT claimed ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) AS c
 WHERE s.id = c.id
RETURNING s.id, s.message`

/**
 * A finished step in one statement: count down its join children ($2, may be empty; the row lock
 * orders concurrent parents, so exactly one sees 0), insert the rows of its other children ($5)
 * and of every join child that reached 0 (the message $6 with the join's step, values and
 * trail), NOTIFY the runner when it inserted any, and NOTIFY the completion ($7, null unless
 * this is the task's last step).
 */
export const FINISH_STEP = `
WITH arrived AS (
  ${arriveAtJoins('minimal_chain', { task: '$1', steps: '$2', value: '$3', trail: '$4' })}
), sent AS (
  INSERT INTO minimal_chain.steps (message)
  SELECT m FROM unnest($5::jsonb[]) AS m
  UNION ALL
  SELECT $6::jsonb || jsonb_build_object('s', step, 'pv', parent_values, 'tr', trail) FROM arrived WHERE remaining = 0
  RETURNING id
), counted AS (SELECT count(*)::int AS n FROM sent)
SELECT n AS sent,
       CASE WHEN n > 0 THEN pg_notify($8, '') END AS woke,
       CASE WHEN $7::text IS NOT NULL THEN pg_notify($9, $7::text) END AS announced
  FROM counted`
