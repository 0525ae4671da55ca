-- The peer's join counters (graphile-worker has no DAG): one row per join step of a task, counted
-- down by each parent job in the same transaction that adds the join job when it reaches zero.
CREATE SCHEMA IF NOT EXISTS peer_baseline;

CREATE TABLE IF NOT EXISTS peer_baseline.joins (
  task_id uuid NOT NULL,
  step text NOT NULL,
  remaining integer NOT NULL CHECK (remaining >= 0),
  parent_values jsonb NOT NULL DEFAULT '[]',
  trail jsonb NOT NULL DEFAULT '[]',
  PRIMARY KEY (task_id, step)
);
