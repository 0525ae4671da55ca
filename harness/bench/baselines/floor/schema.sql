-- The floor's whole schema: one pgmq queue for every step message, and the only bookkeeping a
-- correct DAG execution cannot do without, a counter per join step of a task (a step with more
-- than one parent). It collects the parents' values and trails until the last parent is done.
CREATE SCHEMA IF NOT EXISTS floor_baseline;
-- (its join counters: harness/bench/baselines/join-counters.ts, created after this file)
