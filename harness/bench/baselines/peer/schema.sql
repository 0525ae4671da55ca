-- The peer's join counters (graphile-worker has no DAG): one row per join step of a task, counted
-- down by each parent job in the same transaction that adds the join job when it reaches zero.
CREATE SCHEMA IF NOT EXISTS peer_baseline;
-- (its join counters: harness/bench/baselines/join-counters.ts, created after this file)
