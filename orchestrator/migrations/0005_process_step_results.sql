-- The reference orchestrator's result processing in one round trip (not part of the Tasker
-- contract; tasker-core does these steps in Rust over several statements).
--
-- tasker.evaluate_tasks: the evaluation of a batch of tasks — enqueue every ready step
-- (pending | waiting_for_retry → enqueued, compare-and-set) of every task without a step failed
-- for good, finalize every task whose steps are all complete (→ evaluating_results → complete,
-- compare-and-set from any unsettled state), and return per task its identity, its state, its
-- steps as they were before the enqueue and the steps enqueued (a jsonb array).
--
-- tasker.process_step_results: for a batch of step results, locks the batch's tasks, completes
-- the steps (enqueued_for_orchestration → complete, compare-and-set) and — when every result
-- found completed its step — evaluates the tasks (evaluate_tasks). A result that did not complete
-- its step (the worker reported an error, or a replay of a settled step) needs a decision taken
-- in the service (retry policy); then nothing is evaluated and 'evaluated' is false: the caller
-- settles those steps and evaluates afterwards, as before.
--
-- Why this is safe in one transaction: the task lock (FOR NO KEY UPDATE, in task_uuid order so
-- two batches cannot deadlock) makes evaluations of one task run one after another, and each
-- statement below takes a new snapshot after the lock was granted (READ COMMITTED, volatile
-- functions): of two results of one task (the parents of a join) processed at once, the later
-- evaluation sees the earlier one's committed completion, so no join is missed. The caller sends
-- the enqueued steps' messages in the same statement: they (and their NOTIFY) become visible at
-- commit, together with the enqueue (commit-before-send holds).

CREATE OR REPLACE FUNCTION tasker.evaluate_tasks(p_task_uuids uuid[], p_metadata jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_tasks jsonb;
BEGIN
  WITH r AS MATERIALIZED (
    SELECT task_uuid, workflow_step_uuid, name, current_state, ready_for_execution
    FROM tasker.get_step_readiness_status_batch(p_task_uuids)
  ), blocked AS MATERIALIZED (
    SELECT DISTINCT task_uuid FROM r WHERE current_state = 'error'
  ), enqueued AS MATERIALIZED (
    SELECT r.task_uuid, r.workflow_step_uuid AS uuid, r.name
    FROM r
    WHERE CASE WHEN r.ready_for_execution AND NOT EXISTS (SELECT 1 FROM blocked b WHERE b.task_uuid = r.task_uuid)
               THEN tasker.transition_step(r.workflow_step_uuid, ARRAY['pending', 'waiting_for_retry'], 'enqueued', p_metadata)
               ELSE false END
  ), finalized AS MATERIALIZED (
    -- Every step complete: finalize here. From any unsettled state, whatever another evaluation
    -- wrote meanwhile; compare-and-set, so of concurrent evaluations exactly one finalizes.
    SELECT d.task_uuid,
           tasker.transition_task(d.task_uuid, ARRAY['pending', 'initializing', 'enqueuing_steps', 'steps_in_process', 'evaluating_results',
                                                     'waiting_for_dependencies', 'waiting_for_retry'],
                                  'evaluating_results', p_metadata) AS evaluated,
           tasker.transition_task(d.task_uuid, ARRAY['evaluating_results'], 'complete', p_metadata) AS completed
    FROM (SELECT t.task_uuid, t.current_state
          FROM tasker.tasks t
          WHERE t.task_uuid = ANY (p_task_uuids)
            AND t.current_state NOT IN ('complete', 'error', 'cancelled', 'resolved_manually', 'blocked_by_failures')
            AND EXISTS (SELECT 1 FROM r WHERE r.task_uuid = t.task_uuid)
            AND NOT EXISTS (SELECT 1 FROM r WHERE r.task_uuid = t.task_uuid AND r.current_state NOT IN ('complete', 'resolved_manually'))
          OFFSET 0) d
  )
  SELECT coalesce(jsonb_agg(jsonb_build_object(
           'task', jsonb_build_object('task_uuid', t.task_uuid, 'correlation_id', t.correlation_id, 'traceparent', t.traceparent,
                                      'namespace', ns.name, 'task_name', nt.name, 'version', nt.version),
           'taskState', t.current_state,
           'finalized', coalesce((SELECT f.evaluated AND f.completed FROM finalized f WHERE f.task_uuid = t.task_uuid), false),
           'steps', coalesce((SELECT jsonb_agg(jsonb_build_object('uuid', r.workflow_step_uuid, 'name', r.name, 'state', r.current_state))
                              FROM r WHERE r.task_uuid = t.task_uuid), '[]'::jsonb),
           'enqueued', coalesce((SELECT jsonb_agg(jsonb_build_object('uuid', e.uuid, 'name', e.name))
                                 FROM enqueued e WHERE e.task_uuid = t.task_uuid), '[]'::jsonb))), '[]'::jsonb)
  INTO v_tasks
  FROM tasker.tasks t
  JOIN tasker.named_tasks nt ON nt.named_task_uuid = t.named_task_uuid
  JOIN tasker.task_namespaces ns ON ns.task_namespace_uuid = nt.task_namespace_uuid
  WHERE t.task_uuid = ANY (p_task_uuids);
  RETURN v_tasks;
END
$$;

-- Result: {"completed": [{found, completed, step_name}, … one per input, in input order],
--          "evaluated": boolean, "tasks": evaluate_tasks(…) or []}.
CREATE OR REPLACE FUNCTION tasker.process_step_results(
  p_task_uuids uuid[],
  p_step_uuids uuid[],
  p_msg_ids bigint[],
  p_metadata jsonb
) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_completed jsonb;
  v_tasks uuid[];
  v_unsettled boolean;
BEGIN
  PERFORM 1 FROM tasker.tasks WHERE task_uuid = ANY (p_task_uuids) ORDER BY task_uuid FOR NO KEY UPDATE;

  SELECT coalesce(jsonb_agg(jsonb_build_object('found', c.found, 'completed', c.completed, 'step_name', c.step_name) ORDER BY c.i), '[]'::jsonb),
         coalesce(array_agg(DISTINCT c.task_uuid) FILTER (WHERE c.found), '{}'),
         coalesce(bool_or(c.found AND NOT c.completed), false)
  INTO v_completed, v_tasks, v_unsettled
  FROM (SELECT m.i, m.task_uuid, nst.name AS step_name, ws.workflow_step_uuid IS NOT NULL AS found,
               CASE WHEN ws.workflow_step_uuid IS NULL THEN false
                    ELSE tasker.transition_step(ws.workflow_step_uuid, ARRAY['enqueued_for_orchestration'], 'complete',
                                                jsonb_build_object('processed_by', 'orchestration', 'msg_id', m.msg_id))
               END AS completed
        FROM unnest(p_task_uuids, p_step_uuids, p_msg_ids) WITH ORDINALITY AS m(task_uuid, step_uuid, msg_id, i)
        LEFT JOIN tasker.workflow_steps ws ON ws.workflow_step_uuid = m.step_uuid AND ws.task_uuid = m.task_uuid
        LEFT JOIN tasker.named_steps nst ON nst.named_step_uuid = ws.named_step_uuid
        ORDER BY m.i
        OFFSET 0) c;

  IF v_unsettled THEN
    RETURN jsonb_build_object('completed', v_completed, 'evaluated', false, 'tasks', '[]'::jsonb);
  END IF;
  RETURN jsonb_build_object('completed', v_completed, 'evaluated', true, 'tasks', tasker.evaluate_tasks(v_tasks, p_metadata));
END
$$;
