-- Deterministic dataset generator for the tasker schema. Installed per session into pg_temp, so
-- it leaves nothing behind in the database it fills. Idempotent: run it again on the same
-- session and nothing changes.
--
-- One generator for two schemas: the reference orchestrator's (orchestrator/migrations)
-- and tasker-core's (its migrations/*.sql). It writes only tables and columns both have (plus,
-- where the schema has them, tasks.current_state and the step-result audit table), names no
-- constraint (tasker-core's unique constraints are named differently: existence checks and a
-- bare ON CONFLICT DO NOTHING instead), fills every NOT NULL column itself (tasker-core's
-- created_at/updated_at have no defaults) and runs with TimeZone UTC, so that in tasker-core's
-- `timestamp without time zone` columns every instant is stored as UTC wall-clock time.
--
-- Everything is set-based: one INSERT … SELECT FROM generate_series per table and chunk. Every
-- random choice is a seeded hash: md5(seed || '/kind/' || index …) read as uniform numbers in
-- [0, 1), so task N of a seed is the same rows whichever chunk creates it. UUIDs look like UUIDv7
-- (the row's timestamp in the first 48 bits, as the services write them, so primary-key indexes
-- grow at the right edge) with the rest cut from the task's hash.
--
-- Usage (harness/bench/dataset/seed-dataset.ts does this):
--   SELECT pg_temp.dataset_define(shapes, step_paths, task_paths, mix);   -- once per session
--   SELECT * FROM pg_temp.dataset_generate(seed, from, count, anchor, spacing_ms, live);  -- per chunk
-- and, to check a schema's readiness functions against what the generator means
-- (harness/bench/dataset/expected-readiness.ts):
--   SELECT * FROM pg_temp.dataset_expected_readiness(seed, from, count, anchor, spacing_ms, at, live);

-- ---------------------------------------------------------------------------------------------
-- Definitions, filled by dataset_define().

CREATE TEMP TABLE IF NOT EXISTS dataset_shapes (
  shape_idx       integer PRIMARY KEY,
  shape           text NOT NULL,
  named_task_uuid uuid NOT NULL,
  step_count      integer NOT NULL
);

CREATE TEMP TABLE IF NOT EXISTS dataset_shape_steps (
  shape_idx           integer NOT NULL,
  position            integer NOT NULL, -- topological: parents have smaller positions
  named_step_uuid     uuid NOT NULL,
  retryable           boolean NOT NULL,
  max_attempts        integer NOT NULL,
  max_parent_position integer NOT NULL, -- -1 for a root step
  PRIMARY KEY (shape_idx, position)
);

CREATE TEMP TABLE IF NOT EXISTS dataset_shape_edges (
  shape_idx     integer NOT NULL,
  from_position integer NOT NULL,
  to_position   integer NOT NULL,
  PRIMARY KEY (shape_idx, from_position, to_position)
);

-- Transition history of a step that ends in `state` after `attempts` claims.
CREATE TEMP TABLE IF NOT EXISTS dataset_step_paths (
  state        text NOT NULL,
  attempts     integer NOT NULL,
  path         text[] NOT NULL,
  last_attempt integer NOT NULL, -- 1-based index of the last in_progress in path, 0 if none
  PRIMARY KEY (state, attempts)
);

CREATE TEMP TABLE IF NOT EXISTS dataset_task_paths (
  category text PRIMARY KEY,
  path     text[] NOT NULL
);

-- The mix (harness/bench/dataset/mix.ts): lower bounds of the buckets for width_bucket() and the
-- value of each bucket.
CREATE TEMP TABLE IF NOT EXISTS dataset_mix (
  singleton               boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  shape_bounds            float8[] NOT NULL,
  category_bounds         float8[] NOT NULL,
  categories              text[] NOT NULL,
  priority_bounds         float8[] NOT NULL,
  priorities              integer[] NOT NULL,
  frontier_bounds         float8[] NOT NULL,
  frontier_states         text[] NOT NULL,
  in_flight_bounds        float8[] NOT NULL,
  in_flight_states        text[] NOT NULL,
  retried_complete_share  float8 NOT NULL,
  requested_backoff_share float8 NOT NULL,
  -- Whether tasker.tasks has the current_state column (a copy of the latest task transition);
  -- the generator then writes it with the row rather than leaving it to a trigger's UPDATE.
  task_current_state      boolean NOT NULL DEFAULT false,
  -- Whether the schema keeps tasker-core's step-result audit (tasker.workflow_step_result_audit);
  -- see "Audit rows" in dataset_generate.
  step_result_audit       boolean NOT NULL DEFAULT false,
  -- Whether tasker.task_transitions has tasker-core's processor_uuid (the orchestrator instance
  -- that made a transition); filled on the transitions tasker-core makes with ownership.
  task_processor_uuid     boolean NOT NULL DEFAULT false
);

-- One chunk's tasks and steps with their drawn attributes; emptied at commit.
CREATE TEMP TABLE IF NOT EXISTS dataset_chunk_tasks (
  idx        bigint PRIMARY KEY,
  h          text NOT NULL,   -- the task's hash; every key of the task's rows is cut from it
  ms         bigint NOT NULL, -- created_at in Unix milliseconds
  task_uuid  uuid NOT NULL,
  shape_idx  integer NOT NULL,
  category   text NOT NULL,
  cut        integer NOT NULL, -- steps at positions < cut are complete
  priority   integer NOT NULL,
  created_at timestamptz NOT NULL
) ON COMMIT DELETE ROWS;

CREATE TEMP TABLE IF NOT EXISTS dataset_chunk_steps (
  idx                     bigint NOT NULL,
  position                integer NOT NULL,
  h                       text NOT NULL, -- the task's hash
  ms                      bigint NOT NULL,
  task_uuid               uuid NOT NULL,
  step_uuid               uuid NOT NULL,
  named_step_uuid         uuid NOT NULL,
  retryable               boolean NOT NULL,
  max_attempts            integer NOT NULL,
  state                   text NOT NULL,
  attempts                integer NOT NULL,
  backoff_request_seconds integer,
  created_at              timestamptz NOT NULL,
  path                    text[],
  last_attempt            integer
) ON COMMIT DELETE ROWS;

-- ---------------------------------------------------------------------------------------------
-- Helpers: single-expression SQL functions the planner inlines. All integer and text arithmetic
-- (no timestamptz maths, which is only STABLE): md5 is the expensive part (~2 µs), so each task
-- and each step hashes once and every other key is cut from those hashes.

-- Slot 0..3 of a 32-hex-digit hash as a uniform number in [0, 1).
CREATE OR REPLACE FUNCTION pg_temp.dataset_unit(h text, slot integer) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT (('x' || substr(h, 1 + 8 * slot, 8))::bit(32)::bigint)::float8 / 4294967296.0
$$;

-- A UUIDv7-shaped key: `ms` (Unix milliseconds) in the first 48 bits, version 7, variant 10,
-- then the 18 hex digits of `bits`. Each argument is used once: the planner inlines a function
-- only if it need not evaluate a costly argument twice, and a call not inlined costs ~10 µs.
CREATE OR REPLACE FUNCTION pg_temp.dataset_uuid(ms bigint, bits text) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT (lpad(to_hex(ms), 12, '0') || '7' || overlay(bits PLACING '8' FROM 4 FOR 0))::uuid
$$;

-- Two hex digits of a small number (a step position, a sort key), to append to a key.
CREATE OR REPLACE FUNCTION pg_temp.dataset_hex2(n integer) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT lpad(to_hex(n), 2, '0')
$$;

-- Milliseconds after the task's creation of the seq-th transition of the step at position pos:
-- its first (pending) when the task was created, then 100 ms apart, each position 2 s after the
-- one before.
CREATE OR REPLACE FUNCTION pg_temp.dataset_step_offset(pos integer, seq integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN seq = 1 THEN 0 ELSE pos * 2000 + seq * 100 END
$$;

-- The same for the task's own transitions: set-up within the first 40 ms, evaluation after the
-- steps before `cut` (complete tasks: all of them) have run.
CREATE OR REPLACE FUNCTION pg_temp.dataset_task_offset(cut integer, seq integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN seq <= 4 THEN (seq - 1) * 10 ELSE (cut + 1) * 2000 + seq * 10 END
$$;

-- ---------------------------------------------------------------------------------------------
-- Registers the shapes' templates in tasker.* where missing (an orchestrator that registered them
-- first keeps its rows) and loads the definitions above.
--   p_shapes:     [{shape, namespace, name, version, description, configuration,
--                   steps: [{name, position, parents: [int], retryable, maxAttempts}]}]
--   p_step_paths: [{state, attempts, path: [text], last_attempt}]
--   p_task_paths: {category: [text]}
--   p_mix:        the columns of dataset_mix (without singleton)
-- "Where missing" is an existence check by the natural key, then ON CONFLICT DO NOTHING without a
-- conflict target for a concurrent registration: neither names a constraint or needs one.
CREATE OR REPLACE FUNCTION pg_temp.dataset_define(p_shapes jsonb, p_step_paths jsonb, p_task_paths jsonb, p_mix jsonb)
RETURNS void
LANGUAGE plpgsql
SET TimeZone = 'UTC'
AS $$
DECLARE
  v_missing text;
BEGIN
  INSERT INTO tasker.task_namespaces (name, description, created_at, updated_at)
  SELECT x.name, 'registered by the tasker-bench dataset generator', now(), now()
  FROM (SELECT DISTINCT s->>'namespace' AS name FROM jsonb_array_elements(p_shapes) AS s) x
  WHERE NOT EXISTS (SELECT 1 FROM tasker.task_namespaces ns WHERE ns.name = x.name)
  ON CONFLICT DO NOTHING;

  INSERT INTO tasker.named_tasks (task_namespace_uuid, name, version, description, configuration, created_at, updated_at)
  SELECT ns.task_namespace_uuid, s->>'name', s->>'version', s->>'description', s->'configuration', now(), now()
  FROM jsonb_array_elements(p_shapes) AS s
  JOIN tasker.task_namespaces ns ON ns.name = s->>'namespace'
  WHERE NOT EXISTS (SELECT 1 FROM tasker.named_tasks nt
                    WHERE nt.task_namespace_uuid = ns.task_namespace_uuid AND nt.name = s->>'name' AND nt.version = s->>'version')
  ON CONFLICT DO NOTHING;

  INSERT INTO tasker.named_steps (name, created_at, updated_at)
  SELECT x.name, now(), now()
  FROM (SELECT DISTINCT st->>'name' AS name
        FROM jsonb_array_elements(p_shapes) AS s, jsonb_array_elements(s->'steps') AS st) x
  WHERE NOT EXISTS (SELECT 1 FROM tasker.named_steps n WHERE n.name = x.name)
  ON CONFLICT DO NOTHING;

  TRUNCATE pg_temp.dataset_shapes, pg_temp.dataset_shape_steps, pg_temp.dataset_shape_edges,
           pg_temp.dataset_step_paths, pg_temp.dataset_task_paths, pg_temp.dataset_mix;

  INSERT INTO pg_temp.dataset_shapes (shape_idx, shape, named_task_uuid, step_count)
  SELECT (x.o - 1)::integer, x.s->>'shape', nt.named_task_uuid, jsonb_array_length(x.s->'steps')
  FROM jsonb_array_elements(p_shapes) WITH ORDINALITY AS x(s, o)
  JOIN tasker.task_namespaces ns ON ns.name = x.s->>'namespace'
  JOIN tasker.named_tasks nt
    ON nt.task_namespace_uuid = ns.task_namespace_uuid AND nt.name = x.s->>'name' AND nt.version = x.s->>'version';

  IF (SELECT count(*) FROM pg_temp.dataset_shapes) <> jsonb_array_length(p_shapes) THEN
    RAISE EXCEPTION 'dataset generator: could not find or register every template of %', p_shapes;
  END IF;

  INSERT INTO pg_temp.dataset_shape_steps (shape_idx, position, named_step_uuid, retryable, max_attempts, max_parent_position)
  SELECT (x.o - 1)::integer, (st->>'position')::integer, n.named_step_uuid, (st->>'retryable')::boolean,
         (st->>'maxAttempts')::integer,
         coalesce((SELECT max(p::integer) FROM jsonb_array_elements_text(st->'parents') AS p), -1)
  FROM jsonb_array_elements(p_shapes) WITH ORDINALITY AS x(s, o)
  CROSS JOIN LATERAL jsonb_array_elements(x.s->'steps') AS st
  JOIN tasker.named_steps n ON n.name = st->>'name';

  INSERT INTO pg_temp.dataset_shape_edges (shape_idx, from_position, to_position)
  SELECT (x.o - 1)::integer, p::integer, (st->>'position')::integer
  FROM jsonb_array_elements(p_shapes) WITH ORDINALITY AS x(s, o)
  CROSS JOIN LATERAL jsonb_array_elements(x.s->'steps') AS st
  CROSS JOIN LATERAL jsonb_array_elements_text(st->'parents') AS p;

  -- A template registered earlier by someone else may lack links to its steps; add them.
  INSERT INTO tasker.named_tasks_named_steps
    (named_task_uuid, named_step_uuid, default_retryable, default_max_attempts, created_at, updated_at)
  SELECT sh.named_task_uuid, ss.named_step_uuid, ss.retryable, ss.max_attempts, now(), now()
  FROM pg_temp.dataset_shapes sh
  JOIN pg_temp.dataset_shape_steps ss ON ss.shape_idx = sh.shape_idx
  WHERE NOT EXISTS (SELECT 1 FROM tasker.named_tasks_named_steps l
                    WHERE l.named_task_uuid = sh.named_task_uuid AND l.named_step_uuid = ss.named_step_uuid)
  ON CONFLICT DO NOTHING;

  INSERT INTO pg_temp.dataset_step_paths (state, attempts, path, last_attempt)
  SELECT r.state, r.attempts, r.path, r.last_attempt
  FROM jsonb_to_recordset(p_step_paths) AS r(state text, attempts integer, path text[], last_attempt integer);

  INSERT INTO pg_temp.dataset_task_paths (category, path)
  SELECT e.key, ARRAY(SELECT jsonb_array_elements_text(e.value))
  FROM jsonb_each(p_task_paths) AS e;

  INSERT INTO pg_temp.dataset_mix
  SELECT * FROM jsonb_populate_record(NULL::pg_temp.dataset_mix,
                                      p_mix || '{"singleton": true, "task_current_state": false, "step_result_audit": false, "task_processor_uuid": false}');
  UPDATE pg_temp.dataset_mix SET
    task_current_state = EXISTS (
      SELECT 1 FROM pg_attribute
      WHERE attrelid = 'tasker.tasks'::regclass AND attname = 'current_state' AND NOT attisdropped),
    step_result_audit = to_regclass('tasker.workflow_step_result_audit') IS NOT NULL,
    task_processor_uuid = EXISTS (
      SELECT 1 FROM pg_attribute
      WHERE attrelid = 'tasker.task_transitions'::regclass AND attname = 'processor_uuid' AND NOT attisdropped);

  SELECT string_agg(m.c, ', ') INTO v_missing
  FROM (SELECT unnest(ARRAY['pending', 'in_progress', 'waiting_for_dependencies', 'waiting_for_retry', 'error', 'complete']) AS c) m
  WHERE NOT EXISTS (SELECT 1 FROM pg_temp.dataset_task_paths tp WHERE tp.category = m.c);
  IF v_missing IS NOT NULL THEN
    RAISE EXCEPTION 'dataset generator: no task history defined for %', v_missing;
  END IF;
END
$$;

-- ---------------------------------------------------------------------------------------------
-- Draws tasks p_from .. p_from + p_count - 1 of seed p_seed into the chunk tables (their shape,
-- state category, progress, priority; every step's state, attempts, backoff and history), writing
-- nothing else. dataset_generate writes these draws; dataset_expected_readiness reads them.
-- Task i is created at p_anchor + i * p_spacing_ms; with p_live, p_anchor is the run's start
-- instead: unfinished tasks are created between 20 and 3 minutes before it (fresh to any
-- staleness rule, every backoff over, as a live system's work in flight), complete ones in the
-- week before that (history), each at a time drawn from its own hash.
CREATE OR REPLACE FUNCTION pg_temp.dataset_draw(
  p_seed text,
  p_from bigint,
  p_count integer,
  p_anchor timestamptz,
  p_spacing_ms integer,
  p_live boolean
) RETURNS void
LANGUAGE plpgsql
SET TimeZone = 'UTC'
AS $$
DECLARE
  m pg_temp.dataset_mix;
  v_anchor_ms bigint := round(extract(epoch FROM p_anchor) * 1000)::bigint;
  v_expected bigint;
BEGIN
  SELECT * INTO m FROM pg_temp.dataset_mix;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'dataset generator: no definitions in this session'
      USING HINT = 'call pg_temp.dataset_define(...) first (seedDataset does)';
  END IF;
  IF p_from < 0 OR p_count < 1 THEN
    RAISE EXCEPTION 'dataset generator: from must be >= 0 and count >= 1 (got from %, count %)', p_from, p_count;
  END IF;

  TRUNCATE pg_temp.dataset_chunk_tasks, pg_temp.dataset_chunk_steps;

  -- Tasks: shape, state category, progress cut and priority, each from its own slot of the hash.
  INSERT INTO pg_temp.dataset_chunk_tasks (idx, h, ms, task_uuid, shape_idx, category, cut, priority, created_at)
  SELECT g.idx, g.h, v_anchor_ms + g.offset_ms, pg_temp.dataset_uuid(v_anchor_ms + g.offset_ms, substr(g.h, 1, 18)), sh.shape_idx, g.category,
         CASE g.category
           WHEN 'complete' THEN sh.step_count
           WHEN 'pending' THEN 0
           ELSE floor(g.u_cut * sh.step_count)::integer -- 0 .. steps - 1
         END,
         g.priority,
         p_anchor + g.offset_ms * interval '1 millisecond'
  FROM (
    SELECT d.*,
           CASE WHEN NOT p_live THEN d.idx * p_spacing_ms
                WHEN d.category = 'complete' THEN -1200000 - floor(pg_temp.dataset_unit(md5(p_seed || '/at/' || d.idx), 0) * 604800000)::bigint
                ELSE -1200000 + floor(pg_temp.dataset_unit(md5(p_seed || '/at/' || d.idx), 0) * 1020000)::bigint
           END AS offset_ms
    FROM (
      SELECT x.i AS idx, x.h,
             width_bucket(pg_temp.dataset_unit(x.h, 0), m.shape_bounds) - 1 AS shape_idx,
             m.categories[width_bucket(pg_temp.dataset_unit(x.h, 1), m.category_bounds)] AS category,
             pg_temp.dataset_unit(x.h, 2) AS u_cut,
             m.priorities[width_bucket(pg_temp.dataset_unit(x.h, 3), m.priority_bounds)] AS priority
      FROM (SELECT i, md5(p_seed || '/task/' || i) AS h
            FROM generate_series(p_from, p_from + p_count - 1) AS i
            OFFSET 0) x -- OFFSET 0: hash once per task, not once per use
    ) d
  ) g
  JOIN pg_temp.dataset_shapes sh ON sh.shape_idx = g.shape_idx;

  -- Steps: the state follows from the task's category and cut (see harness/bench/dataset/mix.ts);
  -- the step at position = cut is always on the frontier (its parents all come before it).
  INSERT INTO pg_temp.dataset_chunk_steps
    (idx, position, h, ms, task_uuid, step_uuid, named_step_uuid, retryable, max_attempts, state, attempts,
     backoff_request_seconds, created_at, path, last_attempt)
  SELECT t.idx, s.position, t.h, t.ms, t.task_uuid,
         pg_temp.dataset_uuid(t.ms, substr(t.h, 1, 16) || pg_temp.dataset_hex2(s.position)),
         s.named_step_uuid, s.retryable, s.max_attempts, st.state, a.attempts,
         CASE WHEN st.state = 'waiting_for_retry' AND pg_temp.dataset_unit(x.hs, 2) < m.requested_backoff_share
              THEN 5 + floor(pg_temp.dataset_unit(x.hs, 3) * 116)::integer END,
         t.created_at, p.path, p.last_attempt
  FROM pg_temp.dataset_chunk_tasks t
  JOIN pg_temp.dataset_shape_steps s ON s.shape_idx = t.shape_idx
  CROSS JOIN LATERAL (SELECT md5(p_seed || '/step/' || t.idx || '/' || s.position) AS hs OFFSET 0) x
  CROSS JOIN LATERAL (
    SELECT CASE
      WHEN t.category = 'complete' THEN 'complete'
      WHEN t.category = 'pending' THEN 'pending'
      WHEN s.position < t.cut THEN 'complete'
      WHEN s.position = t.cut THEN
        CASE t.category
          WHEN 'waiting_for_retry' THEN 'waiting_for_retry'
          WHEN 'error' THEN 'error'
          WHEN 'waiting_for_dependencies' THEN 'pending' -- its parents just completed: ready
          ELSE m.frontier_states[width_bucket(pg_temp.dataset_unit(x.hs, 0), m.frontier_bounds)]
        END
      WHEN s.max_parent_position < t.cut THEN -- another frontier step
        CASE t.category
          WHEN 'in_progress' THEN m.frontier_states[width_bucket(pg_temp.dataset_unit(x.hs, 0), m.frontier_bounds)]
          WHEN 'waiting_for_retry' THEN m.in_flight_states[width_bucket(pg_temp.dataset_unit(x.hs, 0), m.in_flight_bounds)]
          WHEN 'waiting_for_dependencies' THEN m.in_flight_states[width_bucket(pg_temp.dataset_unit(x.hs, 0), m.in_flight_bounds)]
          ELSE 'complete' -- error: what was in flight when the failure came finished
        END
      ELSE 'pending'
    END AS state
  ) st
  CROSS JOIN LATERAL (
    SELECT CASE st.state
      WHEN 'complete' THEN CASE WHEN pg_temp.dataset_unit(x.hs, 1) < m.retried_complete_share AND s.max_attempts >= 2 THEN 2 ELSE 1 END
      WHEN 'in_progress' THEN 1
      WHEN 'enqueued_for_orchestration' THEN 1
      WHEN 'waiting_for_retry' THEN 1 + floor(pg_temp.dataset_unit(x.hs, 1) * greatest(s.max_attempts - 1, 0))::integer
      WHEN 'error' THEN s.max_attempts
      ELSE 0
    END AS attempts
  ) a
  LEFT JOIN pg_temp.dataset_step_paths p ON p.state = st.state AND p.attempts = a.attempts;

  SELECT sum(sh.step_count) INTO v_expected
  FROM pg_temp.dataset_chunk_tasks t JOIN pg_temp.dataset_shapes sh ON sh.shape_idx = t.shape_idx;
  IF (SELECT count(*) FROM pg_temp.dataset_chunk_steps) <> v_expected
     OR EXISTS (SELECT 1 FROM pg_temp.dataset_chunk_steps WHERE path IS NULL) THEN
    RAISE EXCEPTION 'dataset generator: a drawn step state has no history in dataset_step_paths (or a shape lost steps)';
  END IF;

END
$$;

-- ---------------------------------------------------------------------------------------------
-- Writes tasks p_from .. p_from + p_count - 1 of seed p_seed, with their steps, edges and
-- transition histories (drawn by dataset_draw). Task i is created at p_anchor + i * p_spacing_ms.
--
-- Keys, all cut from the task's hash h = md5(seed/task/i) and a row timestamp (ms):
--   task        uuid(ms, h[1..18])          identity_hash h     correlation_id uuid(ms, h[15..32])
--   step        uuid(ms, h[1..16] pos)      edge                uuid(ms, h[1..14] from to)
--   transitions uuid(ms of the transition, h[1..16] seq) for tasks, (h[1..14] pos seq) for steps
--   step-result audit uuid(ms of its transition, h[17..30] pos seq)
-- A step's own random draws come from md5(seed/step/i/pos).
--
-- search_path: tasker-core's trigger functions name their tables without a schema (its services
-- run with tasker on the search_path); a session that fires them needs the same.
CREATE OR REPLACE FUNCTION pg_temp.dataset_generate(
  p_seed text,
  p_from bigint,
  p_count integer,
  p_anchor timestamptz,
  p_spacing_ms integer,
  p_live boolean
) RETURNS TABLE (tasks bigint, steps bigint, edges bigint, task_transitions bigint, step_transitions bigint,
                 step_result_audits bigint)
LANGUAGE plpgsql
SET TimeZone = 'UTC'
SET search_path = tasker, public
AS $$
DECLARE
  m pg_temp.dataset_mix;
BEGIN
  SELECT * INTO m FROM pg_temp.dataset_mix;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'dataset generator: no definitions in this session'
      USING HINT = 'call pg_temp.dataset_define(...) first (seedDataset does)';
  END IF;
  IF EXISTS (SELECT 1 FROM tasker.tasks t
             WHERE t.identity_hash IN (md5(p_seed || '/task/' || p_from),
                                       md5(p_seed || '/task/' || (p_from + p_count - 1)))) THEN
    RAISE EXCEPTION 'dataset generator: tasks % .. % of seed "%" already exist', p_from, p_from + p_count - 1, p_seed
      USING HINT = 'grow the dataset from the number of tasks it already has (countSeededTasks)';
  END IF;

  PERFORM pg_temp.dataset_draw(p_seed, p_from, p_count, p_anchor, p_spacing_ms, p_live);

  -- Dynamic only for the optional current_state column; the values come in through USING.
  EXECUTE format($insert$
    INSERT INTO tasker.tasks
      (task_uuid, named_task_uuid, context, identity_hash, priority, correlation_id, initiator,
       source_system, reason, complete, completed_at, requested_at, created_at, updated_at %s)
    SELECT t.task_uuid, sh.named_task_uuid,
           jsonb_build_object('even_number', 2 * (1 + t.idx %% 50),
                              '_dataset', jsonb_build_object('seed', $1, 'index', t.idx, 'shape', sh.shape, 'state', t.category)),
           t.h,
           t.priority,
           pg_temp.dataset_uuid(t.ms, substr(t.h, 15, 18)),
           'tasker-bench dataset', 'tasker-bench', 'synthetic task of a benchmark dataset',
           t.category = 'complete',
           CASE WHEN t.category = 'complete' THEN fin.at END,
           t.created_at, t.created_at, fin.at %s
    FROM pg_temp.dataset_chunk_tasks t
    JOIN pg_temp.dataset_shapes sh ON sh.shape_idx = t.shape_idx
    JOIN pg_temp.dataset_task_paths tp ON tp.category = t.category
    CROSS JOIN LATERAL (
      SELECT t.created_at + pg_temp.dataset_task_offset(t.cut, cardinality(tp.path)) * interval '1 millisecond' AS at
    ) fin
    $insert$,
    CASE WHEN m.task_current_state THEN ', current_state' ELSE '' END,
    CASE WHEN m.task_current_state THEN ', tp.path[cardinality(tp.path)]' ELSE '' END)
  USING p_seed;
  GET DIAGNOSTICS tasks = ROW_COUNT;

  -- Flags as tasker.transition_step keeps them: in_process while in_progress, an attempt per
  -- claim, processed once complete. Results where a handler has run.
  INSERT INTO tasker.workflow_steps
    (workflow_step_uuid, task_uuid, named_step_uuid, retryable, max_attempts, attempts, in_process,
     processed, processed_at, last_attempted_at, backoff_request_seconds, inputs, results, created_at, updated_at)
  SELECT s.step_uuid, s.task_uuid, s.named_step_uuid, s.retryable, s.max_attempts, s.attempts,
         s.state = 'in_progress',
         s.state = 'complete',
         CASE WHEN s.state = 'complete' THEN fin.at END,
         CASE WHEN s.last_attempt > 0
              THEN s.created_at + pg_temp.dataset_step_offset(s.position, s.last_attempt) * interval '1 millisecond' END,
         s.backoff_request_seconds,
         NULL,
         CASE
           WHEN s.state IN ('complete', 'enqueued_for_orchestration')
             THEN jsonb_build_object('result', (s.idx * 31 + s.position * 7) % 1000003)
           WHEN s.state IN ('waiting_for_retry', 'error')
             THEN jsonb_build_object('error', jsonb_build_object('message', 'dataset: simulated handler failure', 'attempts', s.attempts))
         END,
         s.created_at, fin.at
  FROM pg_temp.dataset_chunk_steps s
  CROSS JOIN LATERAL (
    SELECT s.created_at + pg_temp.dataset_step_offset(s.position, cardinality(s.path)) * interval '1 millisecond' AS at
  ) fin;
  GET DIAGNOSTICS steps = ROW_COUNT;

  INSERT INTO tasker.workflow_step_edges (workflow_step_edge_uuid, from_step_uuid, to_step_uuid, name, created_at, updated_at)
  SELECT pg_temp.dataset_uuid(t.ms, substr(t.h, 1, 14) || pg_temp.dataset_hex2(e.from_position) || pg_temp.dataset_hex2(e.to_position)),
         pg_temp.dataset_uuid(t.ms, substr(t.h, 1, 16) || pg_temp.dataset_hex2(e.from_position)),
         pg_temp.dataset_uuid(t.ms, substr(t.h, 1, 16) || pg_temp.dataset_hex2(e.to_position)),
         'provides', t.created_at, t.created_at
  FROM pg_temp.dataset_chunk_tasks t
  JOIN pg_temp.dataset_shape_edges e ON e.shape_idx = t.shape_idx;
  GET DIAGNOSTICS edges = ROW_COUNT;

  -- processor_uuid, where the schema has it: tasker-core writes it on the transitions its
  -- orchestrator makes as the task's owner (TaskEvent::requires_ownership, tasker-shared
  -- src/state_machine/events.rs:170: start, ready steps found, steps enqueued, step completed,
  -- all steps completed), i.e. into initializing, enqueuing_steps, steps_in_process,
  -- evaluating_results and complete; one orchestrator per seed here.
  EXECUTE format($insert$
    INSERT INTO tasker.task_transitions
      (task_transition_uuid, task_uuid, to_state, from_state, metadata, sort_key, most_recent, created_at, updated_at %s)
    SELECT pg_temp.dataset_uuid(t.ms + o.ms, substr(t.h, 1, 16) || pg_temp.dataset_hex2(p.seq::integer)),
           t.task_uuid, p.to_state, tp.path[p.seq - 1], '{}'::jsonb, p.seq::integer,
           p.seq = cardinality(tp.path), o.at, o.at %s
    FROM pg_temp.dataset_chunk_tasks t
    JOIN pg_temp.dataset_task_paths tp ON tp.category = t.category
    CROSS JOIN LATERAL unnest(tp.path) WITH ORDINALITY AS p(to_state, seq)
    CROSS JOIN LATERAL (
      SELECT pg_temp.dataset_task_offset(t.cut, p.seq::integer) AS ms,
             t.created_at + pg_temp.dataset_task_offset(t.cut, p.seq::integer) * interval '1 millisecond' AS at
    ) o
    $insert$,
    CASE WHEN m.task_processor_uuid THEN ', processor_uuid' ELSE '' END,
    CASE WHEN m.task_processor_uuid
         THEN $p$, CASE WHEN p.to_state IN ('initializing', 'enqueuing_steps', 'steps_in_process', 'evaluating_results', 'complete')
                        THEN md5($1 || '/processor')::uuid END$p$
         ELSE '' END)
  USING p_seed;
  GET DIAGNOSTICS task_transitions = ROW_COUNT;

  INSERT INTO tasker.workflow_step_transitions
    (workflow_step_transition_uuid, workflow_step_uuid, to_state, from_state, metadata, sort_key, most_recent, created_at, updated_at)
  SELECT pg_temp.dataset_uuid(s.ms + o.ms, substr(s.h, 1, 14) || pg_temp.dataset_hex2(s.position) || pg_temp.dataset_hex2(p.seq::integer)),
         s.step_uuid, p.to_state, s.path[p.seq - 1], '{}'::jsonb, p.seq::integer,
         p.seq = cardinality(s.path), o.at, o.at
  FROM pg_temp.dataset_chunk_steps s
  CROSS JOIN LATERAL unnest(s.path) WITH ORDINALITY AS p(to_state, seq)
  CROSS JOIN LATERAL (
    SELECT pg_temp.dataset_step_offset(s.position, p.seq::integer) AS ms,
           s.created_at + pg_temp.dataset_step_offset(s.position, p.seq::integer) * interval '1 millisecond' AS at
  ) o;
  GET DIAGNOSTICS step_transitions = ROW_COUNT;

  -- Audit rows. tasker-core records every result a worker hands back (a transition to
  -- enqueued_for_orchestration or enqueued_as_error_for_orchestration) in
  -- workflow_step_result_audit, by a row trigger on workflow_step_transitions. seedDataset seeds in
  -- replica mode when it may (superuser: foreign-key checks would cost more than the inserts),
  -- and replica mode skips that trigger too; so the generator writes the rows the trigger would
  -- have written, set-based and deterministic: same step, transition and task, success from the
  -- state (the transitions carry no worker event), recorded when the transition was made. In
  -- origin mode the schema's own trigger has just written them, and nothing is added here.
  step_result_audits := 0;
  IF m.step_result_audit AND current_setting('session_replication_role') = 'replica' THEN
    INSERT INTO tasker.workflow_step_result_audit
      (workflow_step_result_audit_uuid, workflow_step_uuid, workflow_step_transition_uuid, task_uuid,
       recorded_at, success, created_at, updated_at)
    SELECT pg_temp.dataset_uuid(s.ms + o.ms, substr(s.h, 17, 14) || pg_temp.dataset_hex2(s.position) || pg_temp.dataset_hex2(p.seq::integer)),
           s.step_uuid,
           pg_temp.dataset_uuid(s.ms + o.ms, substr(s.h, 1, 14) || pg_temp.dataset_hex2(s.position) || pg_temp.dataset_hex2(p.seq::integer)),
           s.task_uuid, o.at, p.to_state = 'enqueued_for_orchestration', o.at, o.at
    FROM pg_temp.dataset_chunk_steps s
    CROSS JOIN LATERAL unnest(s.path) WITH ORDINALITY AS p(to_state, seq)
    CROSS JOIN LATERAL (
      SELECT pg_temp.dataset_step_offset(s.position, p.seq::integer) AS ms,
             s.created_at + pg_temp.dataset_step_offset(s.position, p.seq::integer) * interval '1 millisecond' AS at
    ) o
    WHERE p.to_state IN ('enqueued_for_orchestration', 'enqueued_as_error_for_orchestration');
    GET DIAGNOSTICS step_result_audits = ROW_COUNT;
  END IF;

  RETURN NEXT;
END
$$;

-- ---------------------------------------------------------------------------------------------
-- What the generator means every step of tasks p_from .. p_from + p_count - 1 to be, read at
-- p_at: the drawn state and, by the Tasker readiness rules applied to the drawn rows, whether
-- its dependencies are satisfied, whether it may be retried and whether it is ready for
-- execution. Writes nothing to the tasker tables (the draws go to the chunk tables, emptied at
-- commit).
--   dependencies satisfied: every parent's drawn state is complete (the generator writes no
--     resolved_manually);
--   retry eligible: never attempted, or retryable with attempts left;
--   retry time, for a step that failed: the backoff its handler asked for after the last attempt,
--     else the default min(2^attempts, 60) s after the last failure;
--   ready: pending or waiting_for_retry, dependencies satisfied, retry eligible, retry time (if
--     any) not after p_at (NULL: the transaction's now()).
-- harness/bench/dataset/expected-readiness.ts wraps it; test/dataset-readiness.test.ts compares it with
-- each schema's own get_step_readiness_status.
CREATE OR REPLACE FUNCTION pg_temp.dataset_expected_readiness(
  p_seed text,
  p_from bigint,
  p_count integer,
  p_anchor timestamptz,
  p_spacing_ms integer,
  p_at timestamptz,
  p_live boolean
) RETURNS TABLE (task_uuid uuid, workflow_step_uuid uuid, category text, step_position integer,
                 current_state text, dependencies_satisfied boolean, retry_eligible boolean,
                 ready_for_execution boolean, next_retry_at timestamptz)
LANGUAGE plpgsql
SET TimeZone = 'UTC'
AS $$
DECLARE
  v_at timestamptz := coalesce(p_at, now()); -- NULL: the transaction's now(), as the readiness functions read it
BEGIN
  PERFORM pg_temp.dataset_draw(p_seed, p_from, p_count, p_anchor, p_spacing_ms, p_live);
  RETURN QUERY
  WITH parents AS ( -- per step with parents: are they all complete (equality joins: hashed)
    SELECT c.idx, c.position, bool_and(p.state = 'complete') AS satisfied
    FROM pg_temp.dataset_chunk_tasks t
    JOIN pg_temp.dataset_shape_edges e ON e.shape_idx = t.shape_idx
    JOIN pg_temp.dataset_chunk_steps c ON c.idx = t.idx AND c.position = e.to_position
    JOIN pg_temp.dataset_chunk_steps p ON p.idx = t.idx AND p.position = e.from_position
    GROUP BY c.idx, c.position
  )
  SELECT s.task_uuid, s.step_uuid, t.category, s.position, s.state, d.satisfied, r.eligible,
         s.state IN ('pending', 'waiting_for_retry') AND d.satisfied AND r.eligible
           AND (rt.at IS NULL OR rt.at <= v_at),
         rt.at
  FROM pg_temp.dataset_chunk_steps s
  JOIN pg_temp.dataset_chunk_tasks t ON t.idx = s.idx
  LEFT JOIN parents pa ON pa.idx = s.idx AND pa.position = s.position
  CROSS JOIN LATERAL (SELECT coalesce(pa.satisfied, true) AS satisfied) d
  CROSS JOIN LATERAL (SELECT s.attempts = 0 OR (s.retryable AND s.attempts < s.max_attempts) AS eligible) r
  CROSS JOIN LATERAL (
    SELECT CASE
      WHEN s.state NOT IN ('waiting_for_retry', 'error') THEN NULL
      WHEN s.backoff_request_seconds IS NOT NULL
        THEN s.created_at + pg_temp.dataset_step_offset(s.position, s.last_attempt) * interval '1 millisecond'
             + s.backoff_request_seconds * interval '1 second'
      ELSE s.created_at
           + pg_temp.dataset_step_offset(s.position, (SELECT max(f) FROM unnest(array_positions(s.path, 'error')) AS f)) * interval '1 millisecond'
           + least(power(2, s.attempts), 60) * interval '1 second'
    END AS at
  ) rt
  ORDER BY t.idx, s.position;
END
$$;
