/**
 * A result batch completes its steps and evaluates their tasks in one statement (advanceTasks →
 * enqueueReadySteps), whose readiness read cannot see the completions it makes itself. The join
 * of a diamond must still be enqueued exactly when its last parent completes — both parents in one
 * batch, or one batch after the other — the task finalized with its last step, and a result that
 * did not complete its step must leave its task unevaluated and its message in the queue.
 */
import { describe, expect, it } from 'vitest'
import { advanceTasks, createLogger, createTask, DISABLED_TELEMETRY, KNOWN_CALLABLES, loadTemplates, registerTemplates, StepEnqueuer, TemplateRegistry } from '../orchestrator/index.ts'
import { migrateTasker, usePostgres } from './support/postgres.ts'

const db = usePostgres(migrateTasker)

describe('completing and evaluating in one statement', () => {
  let run = 0
  const setUp = async () => {
    const registry = new TemplateRegistry(loadTemplates(undefined, KNOWN_CALLABLES))
    const registered = await registerTemplates(db.pool, registry)
    const deps = { pool: db.pool, registered, enqueuer: new StepEnqueuer(db.pool, DISABLED_TELEMETRY, createLogger('test', 'error')), telemetry: DISABLED_TELEMETRY }
    const request = {
      name: 'diamond_pattern', namespace: 'diamond_workflow', version: '1.0.0', context: { even_number: 2, _run: ++run },
      initiator: 'test', source_system: 'orchestrator-evaluate.test', reason: 'joins', tags: [], priority: 0,
      correlation_id: undefined, parent_correlation_id: null, idempotency_key: undefined, options: undefined,
    }
    const created = await createTask(deps, request, undefined)
    if (created.kind !== 'created') throw new Error(created.kind)
    const taskUuid = created.view.task_uuid
    const step = Object.fromEntries(created.view.steps.map((s: { name: string; workflow_step_uuid: string }) => [s.name, s.workflow_step_uuid])) as Record<string, string>
    return { taskUuid, step }
  }
  /** What a worker does: claim the enqueued step and report it done (enqueued_for_orchestration). */
  const runStep = async (stepUuid: string) => {
    const { rows } = await db.pool.query<{ a: boolean; b: boolean }>(
      `SELECT tasker.transition_step($1, ARRAY['enqueued'], 'in_progress', '{}') AS a,
              tasker.transition_step($1, ARRAY['in_progress'], 'enqueued_for_orchestration', '{}') AS b`,
      [stepUuid],
    )
    expect(rows[0]).toEqual({ a: true, b: true })
  }
  const states = async (taskUuid: string) => {
    const { rows } = await db.pool.query<{ name: string; state: string }>(
      `SELECT nst.name, tr.to_state AS state FROM tasker.workflow_steps ws
       JOIN tasker.named_steps nst USING (named_step_uuid)
       JOIN tasker.workflow_step_transitions tr ON tr.workflow_step_uuid = ws.workflow_step_uuid AND tr.most_recent
       WHERE ws.task_uuid = $1`,
      [taskUuid],
    )
    return Object.fromEntries(rows.map((r) => [r.name, r.state]))
  }
  const result = (taskUuid: string, stepUuid: string, msgId: string) => ({ taskUuid, stepUuid, msgId })
  const metadata = { reason: 'test' }

  it('enqueues the join when both parents complete in one batch, then finalizes with the last step', async () => {
    const { taskUuid, step } = await setUp()
    await runStep(step.diamond_start!)
    const first = await advanceTasks(db.pool, { taskUuids: [taskUuid], metadata, complete: [result(taskUuid, step.diamond_start!, '1')] })
    expect(first.completions).toEqual([{ found: true, completed: true, step_name: 'diamond_start' }])
    expect(first.tasks[0]!.enqueued.map((s) => s.name).sort()).toEqual(['diamond_branch_b', 'diamond_branch_c'])

    await runStep(step.diamond_branch_b!)
    await runStep(step.diamond_branch_c!)
    const both = await advanceTasks(db.pool, {
      taskUuids: [taskUuid], metadata, complete: [result(taskUuid, step.diamond_branch_b!, '2'), result(taskUuid, step.diamond_branch_c!, '3')],
    })
    expect(both.tasks[0]!.enqueued.map((s) => s.name)).toEqual(['diamond_end'])
    expect(await states(taskUuid)).toMatchObject({ diamond_branch_b: 'complete', diamond_branch_c: 'complete', diamond_end: 'enqueued' })

    await runStep(step.diamond_end!)
    const last = await advanceTasks(db.pool, { taskUuids: [taskUuid], metadata, complete: [result(taskUuid, step.diamond_end!, '4')] })
    expect(last.tasks[0]!.finalized).toBe(true)
    const { rows } = await db.pool.query<{ current_state: string }>('SELECT current_state FROM tasker.tasks WHERE task_uuid = $1', [taskUuid])
    expect(rows[0]!.current_state).toBe('complete')
  })

  it('enqueues the join with the second of two batches, not the first', async () => {
    const { taskUuid, step } = await setUp()
    await runStep(step.diamond_start!)
    await advanceTasks(db.pool, { taskUuids: [taskUuid], metadata, complete: [result(taskUuid, step.diamond_start!, '1')] })
    await runStep(step.diamond_branch_b!)
    await runStep(step.diamond_branch_c!)
    const one = await advanceTasks(db.pool, { taskUuids: [taskUuid], metadata, complete: [result(taskUuid, step.diamond_branch_c!, '2')] })
    expect(one.tasks[0]!.enqueued).toEqual([])
    const two = await advanceTasks(db.pool, { taskUuids: [taskUuid], metadata, complete: [result(taskUuid, step.diamond_branch_b!, '3')] })
    expect(two.tasks[0]!.enqueued.map((s) => s.name)).toEqual(['diamond_end'])
    // Replaying the same results changes nothing: the steps are complete, the join enqueued once.
    const replay = await advanceTasks(db.pool, { taskUuids: [taskUuid], metadata, complete: [result(taskUuid, step.diamond_branch_b!, '3')] })
    expect(replay.completions).toEqual([{ found: true, completed: false, step_name: 'diamond_branch_b' }])
    expect(replay.tasks).toEqual([])
    const again = await advanceTasks(db.pool, { taskUuids: [taskUuid], metadata })
    expect(again.tasks[0]!.enqueued).toEqual([])
  })

  it('leaves a task with an unsettled result unevaluated, and that result message in the queue', async () => {
    const { taskUuid, step } = await setUp()
    await runStep(step.diamond_start!)
    await advanceTasks(db.pool, { taskUuids: [taskUuid], metadata, complete: [result(taskUuid, step.diamond_start!, '1')] })
    // branch b: the worker reported an error; branch c: done.
    await db.pool.query(
      `SELECT tasker.transition_step($1, ARRAY['enqueued'], 'in_progress', '{}'),
              tasker.transition_step($1, ARRAY['in_progress'], 'enqueued_as_error_for_orchestration', '{}')`,
      [step.diamond_branch_b!],
    )
    await runStep(step.diamond_branch_c!)
    const { rows: sent } = await db.pool.query<{ msg_id: string }>(
      `SELECT pgmq.send('orchestration_step_results', '{}'::jsonb) AS msg_id UNION ALL SELECT pgmq.send('orchestration_step_results', '{}'::jsonb)`,
    )
    const [errorMsg, okMsg] = sent.map((r) => String(r.msg_id))
    const out = await advanceTasks(db.pool, {
      taskUuids: [taskUuid], metadata, complete: [result(taskUuid, step.diamond_branch_b!, errorMsg!), result(taskUuid, step.diamond_branch_c!, okMsg!)],
    })
    expect(out.completions.map((c) => c.completed)).toEqual([false, true])
    expect(out.tasks).toEqual([])
    const { rows: left } = await db.pool.query<{ msg_id: string }>('SELECT msg_id::text FROM pgmq.q_orchestration_step_results WHERE msg_id = ANY ($1::bigint[])', [[errorMsg, okMsg]])
    expect(left.map((r) => r.msg_id)).toEqual([errorMsg])
  })
})
