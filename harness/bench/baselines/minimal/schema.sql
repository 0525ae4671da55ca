-- The minimal chain's whole schema: a plain table of step rows (a row is claimed by flipping
-- `claimed`; claimed rows stay, the partial index keeps the claim's scan to the unclaimed ones),
-- and the same join counters as the floor's, for steps with more than one parent.
CREATE SCHEMA IF NOT EXISTS minimal_chain;

CREATE TABLE IF NOT EXISTS minimal_chain.steps (
  id bigserial PRIMARY KEY,
  claimed boolean NOT NULL DEFAULT false,
  message jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS steps_unclaimed ON minimal_chain.steps (id) WHERE NOT claimed;
-- (its join counters: harness/bench/baselines/join-counters.ts, created after this file)
