-- The floor's whole schema: one pgmq queue for every step message, and the only bookkeeping a
-- correct DAG execution cannot do without, a counter per join step of a task (a step with more
-- than one parent). It collects the parents' values and trails until the last parent is done.
CREATE SCHEMA IF NOT EXISTS floor_baseline;

CREATE TABLE IF NOT EXISTS floor_baseline.joins (
  task_id uuid NOT NULL,
  step text NOT NULL,
  remaining integer NOT NULL CHECK (remaining >= 0),
  parent_values jsonb NOT NULL DEFAULT '[]',
  trail jsonb NOT NULL DEFAULT '[]',
  PRIMARY KEY (task_id, step)
);
