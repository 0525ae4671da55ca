-- Installed by the end-to-end bench where it may write to the orchestrator's database: a trigger
-- that NOTIFYs when a task reaches a final state, so a sample ends on the event itself instead of
-- on the next poll. Kept in its own schema and dropped again at the end of the bench.
CREATE SCHEMA IF NOT EXISTS tasker_bench;

CREATE OR REPLACE FUNCTION tasker_bench.notify_task_finished() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('tasker_bench_task_finished',
                    json_build_object('task_uuid', NEW.task_uuid, 'state', NEW.to_state)::text);
  RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS tasker_bench_task_finished ON tasker.task_transitions;
CREATE TRIGGER tasker_bench_task_finished
  AFTER INSERT ON tasker.task_transitions
  FOR EACH ROW
  WHEN (NEW.to_state IN ('complete', 'error', 'blocked_by_failures', 'cancelled'))
  EXECUTE FUNCTION tasker_bench.notify_task_finished();
