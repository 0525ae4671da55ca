-- tasker-bench's own pgmq-compatible layer.
--
-- Used only when the pgmq extension cannot be installed (the embedded PostgreSQL ships without
-- it). Written from pgmq 1.5.1's documented behaviour, to the same surface: schema pgmq, the
-- pgmq.meta registry, the q_<name> / a_<name> table columns, and every function the suite or a
-- Tasker orchestrator calls with pgmq 1.5.1's argument names, types, defaults and result types
-- (orchestrator/pgmq/pgmq-1.5.1-surface.ts lists them with their source lines; test/pgmq-surface
-- compares). Not a full pgmq: no partitioned or unlogged queues, no read_with_poll, no
-- detach_archive. pgmq.compat_version() names this layer so that results record which pgmq they
-- ran on.
--
-- Idempotent: objects are created with IF NOT EXISTS or CREATE OR REPLACE, so applying the file
-- again upgrades the functions in place. A signature, type or table layout of an earlier version
-- of this file that differs from pgmq's is dropped (or rebuilt, keeping its rows) first.
--
-- Queue names: stored in pgmq.meta as given; the tables are named after the lower-cased name, as
-- pgmq does. Stricter than pgmq about the characters: only a-z, 0-9 and _ (after folding), at
-- most 47 characters (pgmq: fewer than 48), so that every derived name, archived_at_idx_<name>
-- included, fits PostgreSQL's 63-byte identifier limit. Every dynamic identifier goes through
-- format('%I').
--
-- Time: visibility compares with clock_timestamp(), not now(): now() is frozen at the start of
-- the transaction, so a consumer that reads twice in one transaction would never see a message
-- whose visibility timeout passed in between. pgmq does the same.

CREATE SCHEMA IF NOT EXISTS pgmq;

-- Registry of queues, with pgmq 1.5.1's columns in its order. AFTER INSERT triggers on it
-- (tasker's pgmq_queue_created_trigger) announce new queues.
CREATE TABLE IF NOT EXISTS pgmq.meta (
  queue_name     varchar NOT NULL UNIQUE,
  is_partitioned boolean NOT NULL,
  is_unlogged    boolean NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now()
);

-- Version 1.0.0 of this file had (queue_name text PRIMARY KEY, created_at, is_partitioned,
-- is_unlogged): rebuild it in pgmq's layout, keeping the rows and the triggers on it.
DO $meta$
DECLARE
  layout text;
  triggers text[];
  t text;
BEGIN
  SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
  INTO layout
  FROM pg_attribute a
  WHERE a.attrelid = 'pgmq.meta'::regclass AND a.attnum > 0 AND NOT a.attisdropped;
  IF layout = 'queue_name character varying, is_partitioned boolean, is_unlogged boolean, created_at timestamp with time zone' THEN
    RETURN;
  END IF;
  SELECT coalesce(array_agg(pg_get_triggerdef(tg.oid)), '{}') INTO triggers
  FROM pg_trigger tg WHERE tg.tgrelid = 'pgmq.meta'::regclass AND NOT tg.tgisinternal;
  ALTER TABLE pgmq.meta RENAME TO meta_before_1_1;
  CREATE TABLE pgmq.meta (
    queue_name     varchar NOT NULL UNIQUE,
    is_partitioned boolean NOT NULL,
    is_unlogged    boolean NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
  );
  INSERT INTO pgmq.meta (queue_name, is_partitioned, is_unlogged, created_at)
  SELECT queue_name, is_partitioned, is_unlogged, created_at FROM pgmq.meta_before_1_1;
  DROP TABLE pgmq.meta_before_1_1;
  FOREACH t IN ARRAY triggers LOOP
    EXECUTE t;
  END LOOP;
END
$meta$;

-- Composite result types, as pgmq 1.5.1 declares them. CREATE TYPE has no IF NOT EXISTS, hence
-- the guards; a type of an earlier version of this file with other attributes is dropped with
-- the functions returning it (re-created below).
DO $types$
DECLARE
  expected constant text[][] := ARRAY[
    ['message_record', 'msg_id bigint, read_ct integer, enqueued_at timestamp with time zone, vt timestamp with time zone, message jsonb, headers jsonb'],
    ['queue_record', 'queue_name character varying, is_partitioned boolean, is_unlogged boolean, created_at timestamp with time zone'],
    ['metrics_result', 'queue_name text, queue_length bigint, newest_msg_age_sec integer, oldest_msg_age_sec integer, total_messages bigint, scrape_time timestamp with time zone, queue_visible_length bigint']
  ];
  i integer;
  actual text;
BEGIN
  FOR i IN 1 .. array_length(expected, 1) LOOP
    SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
    INTO actual
    FROM pg_type ty JOIN pg_attribute a ON a.attrelid = ty.typrelid
    WHERE ty.typnamespace = 'pgmq'::regnamespace AND ty.typname = expected[i][1] AND a.attnum > 0 AND NOT a.attisdropped;
    IF actual IS DISTINCT FROM expected[i][2] THEN
      IF actual IS NOT NULL THEN
        EXECUTE format('DROP TYPE pgmq.%I CASCADE', expected[i][1]);
      END IF;
      EXECUTE format('CREATE TYPE pgmq.%I AS (%s)', expected[i][1], expected[i][2]);
    END IF;
  END LOOP;
END
$types$;

-- Signatures of version 1.0.0 of this file that pgmq 1.5.1 does not have (a defaulted delay on
-- send / send_batch, read without conditional): dropped, or the calls below would be ambiguous.
DO $old$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_proc WHERE oid = to_regprocedure('pgmq.send(text, jsonb, integer)') AND pronargdefaults > 0) THEN
    DROP FUNCTION pgmq.send(text, jsonb, integer);
  END IF;
  IF EXISTS (SELECT 1 FROM pg_proc WHERE oid = to_regprocedure('pgmq.send_batch(text, jsonb[], integer)') AND pronargdefaults > 0) THEN
    DROP FUNCTION pgmq.send_batch(text, jsonb[], integer);
  END IF;
  DROP FUNCTION IF EXISTS pgmq.read(text, integer, integer);
END
$old$;

-- Which pgmq this is; installPgmq() records it next to the results.
CREATE OR REPLACE FUNCTION pgmq.compat_version() RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT 'tasker-bench-pgmq-compatible 1.1.0'::text $$;

-- The one place queue names are checked. Returns the table name part (lower case); raises
-- otherwise.
CREATE OR REPLACE FUNCTION pgmq.normalize_queue_name(queue_name text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
  normalized text := lower(queue_name);
BEGIN
  IF normalized IS NULL OR normalized = '' THEN
    RAISE EXCEPTION 'pgmq: queue name is empty or null'
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass a name of 1 to 47 characters from a-z, 0-9 and _.';
  END IF;
  IF length(normalized) > 47 THEN
    RAISE EXCEPTION 'pgmq: queue name "%" is % characters long; the maximum is 47', queue_name, length(normalized)
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'The tables pgmq.q_<name>, pgmq.a_<name> and their indexes must fit the 63-byte identifier limit; use a shorter name.';
  END IF;
  IF normalized !~ '^[a-z0-9_]+$' THEN
    RAISE EXCEPTION 'pgmq: queue name "%" contains characters other than a-z, 0-9 and _', queue_name
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Upper case is folded to lower case; replace anything else (-, ., spaces, quotes) with _.';
  END IF;
  RETURN normalized;
END
$$;

CREATE OR REPLACE FUNCTION pgmq.create(queue_name text) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  qname text := pgmq.normalize_queue_name(queue_name);
  q     text := 'q_' || qname;
  a     text := 'a_' || qname;
BEGIN
  -- Serialise creators of the same queue: CREATE TABLE IF NOT EXISTS is not safe against a
  -- concurrent creator (both pass the check, one fails on the duplicate type name).
  PERFORM pg_advisory_xact_lock(hashtext('pgmq.create'), hashtext(qname));

  -- Already there: return without the "already exists, skipping" notices.
  IF to_regclass(format('pgmq.%I', q)) IS NOT NULL
     AND EXISTS (SELECT 1 FROM pgmq.meta AS m WHERE m.queue_name = $1) THEN
    RETURN;
  END IF;

  EXECUTE format(
    'CREATE TABLE IF NOT EXISTS pgmq.%I (
       msg_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
       read_ct     integer NOT NULL DEFAULT 0,
       enqueued_at timestamptz NOT NULL DEFAULT now(),
       vt          timestamptz NOT NULL,
       message     jsonb,
       headers     jsonb
     )', q);
  -- Visibility is what every read filters on.
  EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON pgmq.%I (vt)', q || '_vt_idx', q);

  -- Archive: the same columns (msg_id kept, not generated) plus when the row was archived.
  EXECUTE format(
    'CREATE TABLE IF NOT EXISTS pgmq.%I (
       msg_id      bigint PRIMARY KEY,
       read_ct     integer NOT NULL DEFAULT 0,
       enqueued_at timestamptz NOT NULL DEFAULT now(),
       archived_at timestamptz NOT NULL DEFAULT now(),
       vt          timestamptz NOT NULL,
       message     jsonb,
       headers     jsonb
     )', a);
  EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON pgmq.%I (archived_at)', 'archived_at_idx_' || qname, a);

  -- As given, like pgmq. No conflict target: a column list would clash with the parameter name.
  INSERT INTO pgmq.meta (queue_name, is_partitioned, is_unlogged) VALUES (queue_name, false, false)
  ON CONFLICT DO NOTHING;
END
$$;

-- send: the one implementation (headers, absolute visibility time); the other five overloads of
-- pgmq 1.5.1 are shorthands for it. Returns the new msg_id.
CREATE OR REPLACE FUNCTION pgmq.send(queue_name text, msg jsonb, headers jsonb, delay timestamptz)
RETURNS SETOF bigint
LANGUAGE plpgsql
AS $$
BEGIN
  RETURN QUERY EXECUTE format(
    'INSERT INTO pgmq.%I (vt, message, headers) VALUES ($2, $1, $3) RETURNING msg_id',
    'q_' || pgmq.normalize_queue_name(queue_name))
  USING msg, delay, headers;
END
$$;

CREATE OR REPLACE FUNCTION pgmq.send(queue_name text, msg jsonb)
RETURNS SETOF bigint LANGUAGE sql
AS $$ SELECT * FROM pgmq.send(queue_name, msg, NULL::jsonb, clock_timestamp()) $$;

CREATE OR REPLACE FUNCTION pgmq.send(queue_name text, msg jsonb, headers jsonb)
RETURNS SETOF bigint LANGUAGE sql
AS $$ SELECT * FROM pgmq.send(queue_name, msg, headers, clock_timestamp()) $$;

CREATE OR REPLACE FUNCTION pgmq.send(queue_name text, msg jsonb, delay integer)
RETURNS SETOF bigint LANGUAGE sql
AS $$ SELECT * FROM pgmq.send(queue_name, msg, NULL::jsonb, clock_timestamp() + make_interval(secs => delay)) $$;

CREATE OR REPLACE FUNCTION pgmq.send(queue_name text, msg jsonb, delay timestamptz)
RETURNS SETOF bigint LANGUAGE sql
AS $$ SELECT * FROM pgmq.send(queue_name, msg, NULL::jsonb, delay) $$;

CREATE OR REPLACE FUNCTION pgmq.send(queue_name text, msg jsonb, headers jsonb, delay integer)
RETURNS SETOF bigint LANGUAGE sql
AS $$ SELECT * FROM pgmq.send(queue_name, msg, headers, clock_timestamp() + make_interval(secs => delay)) $$;

-- send_batch: one INSERT for the whole batch; ids follow the order of msgs; headers[i] goes with
-- msgs[i] (missing headers are NULL).
CREATE OR REPLACE FUNCTION pgmq.send_batch(queue_name text, msgs jsonb[], headers jsonb[], delay timestamptz)
RETURNS SETOF bigint
LANGUAGE plpgsql
AS $$
BEGIN
  RETURN QUERY EXECUTE format(
    'INSERT INTO pgmq.%I (vt, message, headers)
     SELECT $2, m.message, m.headers
     FROM unnest($1::jsonb[], $3::jsonb[]) WITH ORDINALITY AS m(message, headers, ord)
     WHERE m.ord <= coalesce(cardinality($1::jsonb[]), 0)
     ORDER BY m.ord
     RETURNING msg_id',
    'q_' || pgmq.normalize_queue_name(queue_name))
  USING msgs, delay, headers;
END
$$;

CREATE OR REPLACE FUNCTION pgmq.send_batch(queue_name text, msgs jsonb[])
RETURNS SETOF bigint LANGUAGE sql
AS $$ SELECT * FROM pgmq.send_batch(queue_name, msgs, NULL::jsonb[], clock_timestamp()) $$;

CREATE OR REPLACE FUNCTION pgmq.send_batch(queue_name text, msgs jsonb[], headers jsonb[])
RETURNS SETOF bigint LANGUAGE sql
AS $$ SELECT * FROM pgmq.send_batch(queue_name, msgs, headers, clock_timestamp()) $$;

CREATE OR REPLACE FUNCTION pgmq.send_batch(queue_name text, msgs jsonb[], delay integer)
RETURNS SETOF bigint LANGUAGE sql
AS $$ SELECT * FROM pgmq.send_batch(queue_name, msgs, NULL::jsonb[], clock_timestamp() + make_interval(secs => delay)) $$;

CREATE OR REPLACE FUNCTION pgmq.send_batch(queue_name text, msgs jsonb[], delay timestamptz)
RETURNS SETOF bigint LANGUAGE sql
AS $$ SELECT * FROM pgmq.send_batch(queue_name, msgs, NULL::jsonb[], delay) $$;

CREATE OR REPLACE FUNCTION pgmq.send_batch(queue_name text, msgs jsonb[], headers jsonb[], delay integer)
RETURNS SETOF bigint LANGUAGE sql
AS $$ SELECT * FROM pgmq.send_batch(queue_name, msgs, headers, clock_timestamp() + make_interval(secs => delay)) $$;

-- read: the oldest visible messages (those containing `conditional`, when it is not '{}').
CREATE OR REPLACE FUNCTION pgmq.read(queue_name text, vt integer, qty integer, conditional jsonb DEFAULT '{}')
RETURNS SETOF pgmq.message_record
LANGUAGE plpgsql
AS $$
BEGIN
  -- SKIP LOCKED lets concurrent readers take different messages instead of queueing behind each
  -- other. Claiming = pushing vt forward and counting the read.
  RETURN QUERY EXECUTE format(
    'WITH visible AS (
       SELECT msg_id FROM pgmq.%1$I
       WHERE vt <= clock_timestamp() AND ($3 = ''{}''::jsonb OR message @> $3)
       ORDER BY msg_id
       LIMIT $1
       FOR UPDATE SKIP LOCKED
     ), claimed AS (
       UPDATE pgmq.%1$I AS m
       SET vt = clock_timestamp() + make_interval(secs => $2),
           read_ct = m.read_ct + 1
       FROM visible
       WHERE m.msg_id = visible.msg_id
       RETURNING m.msg_id, m.read_ct, m.enqueued_at, m.vt, m.message, m.headers
     )
     SELECT * FROM claimed ORDER BY msg_id',
    'q_' || pgmq.normalize_queue_name(queue_name))
  USING qty, vt, coalesce(conditional, '{}'::jsonb);
END
$$;

CREATE OR REPLACE FUNCTION pgmq.pop(queue_name text)
RETURNS SETOF pgmq.message_record
LANGUAGE plpgsql
AS $$
BEGIN
  -- Read and delete in one statement: the message is gone whether or not the caller succeeds.
  RETURN QUERY EXECUTE format(
    'WITH next AS (
       SELECT msg_id FROM pgmq.%1$I
       WHERE vt <= clock_timestamp()
       ORDER BY msg_id
       LIMIT 1
       FOR UPDATE SKIP LOCKED
     ), popped AS (
       DELETE FROM pgmq.%1$I AS m
       USING next
       WHERE m.msg_id = next.msg_id
       RETURNING m.msg_id, m.read_ct, m.enqueued_at, m.vt, m.message, m.headers
     )
     SELECT * FROM popped',
    'q_' || pgmq.normalize_queue_name(queue_name));
END
$$;

CREATE OR REPLACE FUNCTION pgmq.delete(queue_name text, msg_id bigint)
RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
  deleted bigint;
BEGIN
  EXECUTE format('DELETE FROM pgmq.%I WHERE msg_id = $1 RETURNING msg_id',
                 'q_' || pgmq.normalize_queue_name(queue_name))
  INTO deleted
  USING msg_id;
  RETURN deleted IS NOT NULL;
END
$$;

CREATE OR REPLACE FUNCTION pgmq.delete(queue_name text, msg_ids bigint[])
RETURNS SETOF bigint
LANGUAGE plpgsql
AS $$
BEGIN
  RETURN QUERY EXECUTE format(
    'WITH deleted AS (DELETE FROM pgmq.%I WHERE msg_id = ANY($1) RETURNING msg_id)
     SELECT msg_id FROM deleted',
    'q_' || pgmq.normalize_queue_name(queue_name))
  USING msg_ids;
END
$$;

CREATE OR REPLACE FUNCTION pgmq.archive(queue_name text, msg_id bigint)
RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
  qname    text := pgmq.normalize_queue_name(queue_name);
  archived bigint;
BEGIN
  -- Delete and insert in one statement, so the message is in exactly one of the two tables.
  EXECUTE format(
    'WITH moved AS (
       DELETE FROM pgmq.%I WHERE msg_id = $1
       RETURNING msg_id, read_ct, enqueued_at, vt, message, headers
     )
     INSERT INTO pgmq.%I (msg_id, read_ct, enqueued_at, vt, message, headers)
     SELECT msg_id, read_ct, enqueued_at, vt, message, headers FROM moved
     RETURNING msg_id',
    'q_' || qname, 'a_' || qname)
  INTO archived
  USING msg_id;
  RETURN archived IS NOT NULL;
END
$$;

CREATE OR REPLACE FUNCTION pgmq.archive(queue_name text, msg_ids bigint[])
RETURNS SETOF bigint
LANGUAGE plpgsql
AS $$
DECLARE
  qname text := pgmq.normalize_queue_name(queue_name);
BEGIN
  RETURN QUERY EXECUTE format(
    'WITH moved AS (
       DELETE FROM pgmq.%I WHERE msg_id = ANY($1)
       RETURNING msg_id, read_ct, enqueued_at, vt, message, headers
     ), archived AS (
       INSERT INTO pgmq.%I (msg_id, read_ct, enqueued_at, vt, message, headers)
       SELECT msg_id, read_ct, enqueued_at, vt, message, headers FROM moved
       RETURNING msg_id
     )
     SELECT msg_id FROM archived',
    'q_' || qname, 'a_' || qname)
  USING msg_ids;
END
$$;

CREATE OR REPLACE FUNCTION pgmq.set_vt(queue_name text, msg_id bigint, vt integer)
RETURNS SETOF pgmq.message_record
LANGUAGE plpgsql
AS $$
BEGIN
  -- Relative to now, like read: extends (or shortens) a consumer's lease on the message.
  RETURN QUERY EXECUTE format(
    'WITH updated AS (
       UPDATE pgmq.%I
       SET vt = clock_timestamp() + make_interval(secs => $2)
       WHERE msg_id = $1
       RETURNING msg_id, read_ct, enqueued_at, vt, message, headers
     )
     SELECT * FROM updated',
    'q_' || pgmq.normalize_queue_name(queue_name))
  USING msg_id, vt;
END
$$;

CREATE OR REPLACE FUNCTION pgmq.metrics(queue_name text)
RETURNS pgmq.metrics_result
LANGUAGE plpgsql
AS $$
DECLARE
  q      text := 'q_' || pgmq.normalize_queue_name(queue_name);
  result pgmq.metrics_result;
BEGIN
  -- total_messages counts every message ever sent: the identity sequence's position, which
  -- deletes and archives do not lower. pg_get_serial_sequence returns it already quoted.
  EXECUTE format(
    'SELECT $1,
            count(*),
            extract(epoch FROM now() - max(enqueued_at))::integer,
            extract(epoch FROM now() - min(enqueued_at))::integer,
            (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM %s),
            now(),
            count(*) FILTER (WHERE vt <= clock_timestamp())
     FROM pgmq.%I',
    pg_get_serial_sequence(format('pgmq.%I', q), 'msg_id'), q)
  INTO result
  USING queue_name;
  RETURN result;
END
$$;

CREATE OR REPLACE FUNCTION pgmq.metrics_all()
RETURNS SETOF pgmq.metrics_result
LANGUAGE plpgsql
AS $$
DECLARE
  registered text;
BEGIN
  FOR registered IN SELECT m.queue_name FROM pgmq.meta AS m ORDER BY m.queue_name LOOP
    RETURN NEXT pgmq.metrics(registered);
  END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION pgmq.list_queues()
RETURNS SETOF pgmq.queue_record
LANGUAGE sql STABLE
AS $$
  SELECT queue_name, is_partitioned, is_unlogged, created_at
  FROM pgmq.meta
  ORDER BY queue_name
$$;

CREATE OR REPLACE FUNCTION pgmq.purge_queue(queue_name text)
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
  purged bigint;
BEGIN
  -- DELETE, not TRUNCATE: TRUNCATE takes an exclusive lock that would stall concurrent readers.
  EXECUTE format(
    'WITH purged AS (DELETE FROM pgmq.%I RETURNING 1) SELECT count(*) FROM purged',
    'q_' || pgmq.normalize_queue_name(queue_name))
  INTO purged;
  RETURN purged;
END
$$;

-- Raises for a queue that does not exist, as pgmq 1.5.1 does where it is an extension (its
-- first step, detaching the queue table from the extension, fails with undefined_table).
CREATE OR REPLACE FUNCTION pgmq.drop_queue(queue_name text)
RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
  qname text := pgmq.normalize_queue_name(queue_name);
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('pgmq.create'), hashtext(qname));
  IF to_regclass(format('pgmq.%I', 'q_' || qname)) IS NULL THEN
    RAISE EXCEPTION 'relation "pgmq.%" does not exist', 'q_' || qname
      USING ERRCODE = 'undefined_table',
            HINT = format('There is no queue %L: pgmq.list_queues() lists the queues.', queue_name);
  END IF;
  EXECUTE format('DROP TABLE IF EXISTS pgmq.%I, pgmq.%I', 'q_' || qname, 'a_' || qname);
  DELETE FROM pgmq.meta AS m WHERE m.queue_name = $1;
  RETURN true;
END
$$;

-- Deprecated in pgmq 1.5.1 (it warns so), kept there for old callers: the flag is ignored.
CREATE OR REPLACE FUNCTION pgmq.drop_queue(queue_name text, partitioned boolean)
RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
  RAISE WARNING 'drop_queue(queue_name, partitioned) is deprecated; use drop_queue(queue_name)';
  RETURN pgmq.drop_queue(queue_name);
END
$$;
