-- Tasker's queue wrappers, in schema tasker as tasker-core defines them (tasker-core
-- migrations/20250826180921_add_pgmq_notifications.sql): send with pgmq and announce it with
-- NOTIFY in the same transaction, so a listener wakes exactly when the message becomes readable
-- (NOTIFY is delivered at commit, together with the row); and announce new queues.
--
-- Replaces 0003_pgmq_notify.sql, which defined these in schema public (tasker-core callers find
-- them through search_path = tasker, public; qualified calls need them in tasker). A database
-- migrated with 0003 is upgraded: its public functions and trigger are dropped first.
--
-- Depends only on pgmq (the extension or orchestrator/pgmq/pgmq-compatible.sql): pgmq.send,
-- pgmq.send_batch and the pgmq.meta registry. Idempotent.
--
-- Same names, signatures, channels and payload keys as tasker-core:
--   pgmq_message_ready.<namespace>  per namespace, what a worker of that namespace LISTENs on
--   pgmq_message_ready              every message as well (tasker-core sends to it whenever the
--                                   namespace channel differs from it, which is always)
--   pgmq_queue_created              a row was added to pgmq.meta (trigger pgmq_queue_created_trigger)
-- Payloads (JSON objects):
--   message_with_payload  msg_id, queue_name, namespace, message, ready_at, delay_seconds
--   message_ready         msg_id, queue_name, namespace, ready_at, delay_seconds, payload_omitted
--                         (the message's text is tasker.pgmq_payload_size_threshold() = 7000
--                         characters or longer)
--   batch_ready           msg_ids, queue_name, namespace, message_count, ready_at, delay_seconds
--   queue_created         queue_name, namespace, created_at
-- ready_at is the sending transaction's now(), whatever the delay, as in tasker-core.
-- Where this file differs from tasker-core, on purpose (each also noted at the function):
--   * an empty batch returns no ids and announces nothing (tasker-core: FOREACH over the NULL
--     id array raises);
--   * a notification that would pass 7800 bytes (tasker-core: 7800 characters) is sent as valid
--     JSON without the message or id list (tasker-core cuts a batch payload's text at 7790
--     characters, which leaves invalid JSON);
--   * the reference orchestrator's hot path (orchestrator/src/queues/queue-table.ts)
--     inserts into the queue table itself and announces through tasker.pgmq_notify_message_ready /
--     tasker.pgmq_notify_batch_ready, which tasker-core does not have: the announcement half of
--     the wrappers, so every sender announces alike.
-- Channel names are identifiers (at most 63 bytes). pgmq queue names have fewer than 48
-- characters, so the longest namespace (from <ns>_queue) is 41 and 'pgmq_message_ready.' + 41 fits.

-- Upgrade from 0003 (schema public).
DROP TRIGGER IF EXISTS pgmq_queue_created_notify ON pgmq.meta;
DROP FUNCTION IF EXISTS public.pgmq_send_with_notify(text, jsonb, integer);
DROP FUNCTION IF EXISTS public.pgmq_send_batch_with_notify(text, jsonb[], integer);
DROP FUNCTION IF EXISTS public.pgmq_notify_message_ready(text, bigint, jsonb, integer);
DROP FUNCTION IF EXISTS public.pgmq_notify_batch_ready(text, bigint[], integer);
DROP FUNCTION IF EXISTS public.pgmq_create_with_notify(text);
DROP FUNCTION IF EXISTS public.pgmq_notify_queue_created();
DROP FUNCTION IF EXISTS public.extract_queue_namespace(text);

CREATE SCHEMA IF NOT EXISTS tasker;

-- Namespace of a queue, by tasker-core's rules: a name starting with orchestration ->
-- orchestration; worker_<ns>_queue -> <ns> (worker when <ns> is empty); <ns>_queue, where the
-- name starts with a letter and has only letters, digits and _ -> <ns>; anything else ->
-- default. Plain SQL (tasker-core: PL/pgSQL) so the planner can inline it.
CREATE OR REPLACE FUNCTION tasker.extract_queue_namespace(queue_name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE
    WHEN queue_name ~ '^orchestration' THEN 'orchestration'
    WHEN queue_name ~ '^worker_.*_queue$' THEN coalesce(substring(queue_name FROM '^worker_(.+)_queue$'), 'worker')
    WHEN queue_name ~ '^[a-zA-Z][a-zA-Z0-9_]*_queue$' THEN substring(queue_name FROM '^([a-zA-Z][a-zA-Z0-9_]*)_queue$')
    ELSE 'default'
  END
$$;

-- Messages whose text is this long or longer are announced without their payload.
CREATE OR REPLACE FUNCTION tasker.pgmq_payload_size_threshold() RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT 7000 $$;

-- The announcement of one sent message (the second half of pgmq_send_with_notify). NOTIFY
-- payloads are limited to 8000 bytes. Returns msg_id.
CREATE OR REPLACE FUNCTION tasker.pgmq_notify_message_ready(
  queue_name text,
  msg_id bigint,
  message jsonb,
  delay_seconds integer DEFAULT 0
) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
  namespace text := tasker.extract_queue_namespace(queue_name);
  payload   text;
BEGIN
  IF length(message::text) < tasker.pgmq_payload_size_threshold() THEN
    payload := json_build_object(
      'event_type', 'message_with_payload', 'msg_id', msg_id, 'queue_name', queue_name,
      'namespace', namespace, 'message', message, 'ready_at', now(), 'delay_seconds', delay_seconds)::text;
  END IF;
  -- Differs from tasker-core: the fallback checks bytes, not characters, so that a short message
  -- of multi-byte text cannot make pg_notify fail (and the send with it).
  IF payload IS NULL OR octet_length(payload) > 7800 THEN
    payload := json_build_object(
      'event_type', 'message_ready', 'msg_id', msg_id, 'queue_name', queue_name,
      'namespace', namespace, 'ready_at', now(), 'delay_seconds', delay_seconds,
      'payload_omitted', true)::text;
  END IF;
  PERFORM pg_notify('pgmq_message_ready.' || namespace, payload);
  PERFORM pg_notify('pgmq_message_ready', payload);
  RETURN msg_id;
END
$$;

-- The announcement of a sent batch (the second half of pgmq_send_batch_with_notify): one
-- notification per channel for the whole batch. Returns msg_ids.
-- Differs from tasker-core: an empty batch is not announced; a batch whose id list would pass
-- 7800 bytes is announced with message_count and payload_omitted instead of a cut-off text.
CREATE OR REPLACE FUNCTION tasker.pgmq_notify_batch_ready(
  queue_name text,
  msg_ids bigint[],
  delay_seconds integer DEFAULT 0
) RETURNS bigint[]
LANGUAGE plpgsql
AS $$
DECLARE
  namespace text := tasker.extract_queue_namespace(queue_name);
  payload   text;
BEGIN
  IF coalesce(cardinality(msg_ids), 0) = 0 THEN
    RETURN '{}';
  END IF;
  payload := json_build_object(
    'event_type', 'batch_ready', 'msg_ids', msg_ids, 'queue_name', queue_name,
    'namespace', namespace, 'message_count', cardinality(msg_ids), 'ready_at', now(),
    'delay_seconds', delay_seconds)::text;
  IF octet_length(payload) > 7800 THEN
    payload := json_build_object(
      'event_type', 'batch_ready', 'queue_name', queue_name, 'namespace', namespace,
      'message_count', cardinality(msg_ids), 'ready_at', now(), 'delay_seconds', delay_seconds,
      'payload_omitted', true)::text;
  END IF;
  PERFORM pg_notify('pgmq_message_ready.' || namespace, payload);
  PERFORM pg_notify('pgmq_message_ready', payload);
  RETURN msg_ids;
END
$$;

CREATE OR REPLACE FUNCTION tasker.pgmq_send_with_notify(
  queue_name text,
  message jsonb,
  delay_seconds integer DEFAULT 0
) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
  msg_id bigint;
BEGIN
  -- Typed arguments pick pgmq.send(text, jsonb, integer) among pgmq's overloads.
  SELECT sent INTO msg_id FROM pgmq.send(queue_name, message, delay_seconds) AS sent;
  RETURN tasker.pgmq_notify_message_ready(queue_name, msg_id, message, delay_seconds);
END
$$;

CREATE OR REPLACE FUNCTION tasker.pgmq_send_batch_with_notify(
  queue_name text,
  messages jsonb[],
  delay_seconds integer DEFAULT 0
) RETURNS SETOF bigint
LANGUAGE plpgsql
AS $$
DECLARE
  msg_ids bigint[];
BEGIN
  SELECT coalesce(array_agg(sent ORDER BY sent), '{}')
  INTO msg_ids
  FROM pgmq.send_batch(queue_name, messages, delay_seconds) AS sent;
  RETURN QUERY SELECT unnest(tasker.pgmq_notify_batch_ready(queue_name, msg_ids, delay_seconds));
END
$$;

-- Queue creation is announced from a trigger on pgmq.meta, so queues created with plain
-- pgmq.create() are announced too. pgmq.create registers a queue once (INSERT ... ON CONFLICT DO
-- NOTHING), and a skipped insert fires no row trigger, so each queue is announced once.
-- created_at is the creating transaction's now(), as in tasker-core.
CREATE OR REPLACE FUNCTION tasker.pgmq_notify_queue_created() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM pg_notify('pgmq_queue_created', json_build_object(
    'event_type', 'queue_created',
    'queue_name', NEW.queue_name,
    'namespace', tasker.extract_queue_namespace(NEW.queue_name),
    'created_at', now()
  )::text);
  RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER pgmq_queue_created_trigger
AFTER INSERT ON pgmq.meta
FOR EACH ROW EXECUTE FUNCTION tasker.pgmq_notify_queue_created();
