/**
 * The reference orchestrator end to end: every template computes the right numbers, a failing
 * step is retried, a worker killed mid-step loses nothing, an orchestration restart loses
 * nothing, and a burst of concurrent tasks completes with every step handled exactly once.
 */
import { describe, expect, test } from 'vitest'
import { createTask, errorLines, killWorkerMidStep, stepResults, stepTransitionCounts, taskBody, useOrchestrator, waitForTasks } from './support/orchestrator.ts'

const P = 1_000_000_007n
const sq = (x: bigint) => (x * x) % P
const mul = (...xs: bigint[]) => xs.reduce((a, b) => (a * b) % P, 1n)

/** Expected results per step for input n, computed independently of the handlers. */
function expected(template: 'linear' | 'diamond' | 'tree' | 'mixed', n: bigint): Record<string, bigint> {
  const root = sq(n)
  switch (template) {
    case 'linear': {
      const s2 = sq(root)
      return { linear_step_1: root, linear_step_2: s2, linear_step_3: sq(s2) }
    }
    case 'diamond': {
      const b = sq(root)
      return { diamond_start: root, diamond_branch_b: b, diamond_branch_c: b, diamond_end: mul(b, b) }
    }
    case 'tree': {
      const branch = sq(root)
      const leaf = sq(branch)
      return {
        tree_root: root, tree_branch_left: branch, tree_branch_right: branch,
        tree_leaf_d: leaf, tree_leaf_e: leaf, tree_leaf_f: leaf, tree_leaf_g: leaf,
        tree_final_convergence: mul(leaf, leaf, leaf, leaf),
      }
    }
    case 'mixed': {
      const side = sq(root)
      const validate = mul(side, side)
      const transform = sq(side)
      return {
        dag_init: root, dag_process_left: side, dag_process_right: side,
        dag_validate: validate, dag_transform: transform, dag_analyze: transform,
        dag_finalize: mul(validate, transform, transform),
      }
    }
  }
}

describe('reference orchestrator flows', () => {
  const o = useOrchestrator({ workers: 2 })

  test.each(['linear', 'diamond', 'tree', 'mixed'] as const)('%s completes with the right arithmetic', async (template) => {
    const id = await createTask(o.url, taskBody(template, { even_number: 12 }))
    await waitForTasks(o.db, [id])
    const results = await stepResults(o.db, id)
    const want = expected(template, 12n)
    expect(Object.keys(results).sort()).toEqual(Object.keys(want).sort())
    for (const [name, value] of Object.entries(want)) expect(results[name]!.result, name).toBe(Number(value))
  })

  test('a step failing its first attempts is retried after backoff and the task completes', async () => {
    const id = await createTask(o.url, taskBody('linear', { bench_fail_times: { linear_step_2: 2 } }))
    await waitForTasks(o.db, [id], ['complete'], 60_000)
    const { rows } = await o.db.pool.query<{ to_state: string }>(
      `SELECT tr.to_state FROM tasker.workflow_step_transitions tr
       JOIN tasker.workflow_steps ws USING (workflow_step_uuid) JOIN tasker.named_steps ns USING (named_step_uuid)
       WHERE ws.task_uuid = $1 AND ns.name = 'linear_step_2' ORDER BY tr.sort_key`,
      [id],
    )
    const states = rows.map((r) => r.to_state)
    expect(states.filter((s) => s === 'waiting_for_retry')).toHaveLength(2)
    expect(states.filter((s) => s === 'in_progress')).toHaveLength(3)
    expect(states.at(-1)).toBe('complete')
    const results = await stepResults(o.db, id)
    expect(results.linear_step_3!.result).toBe(Number(expected('linear', 6n).linear_step_3))
  })

  test('a step that keeps failing fails for good and blocks the task', async () => {
    const id = await createTask(o.url, taskBody('diamond', { bench_fail_times: { diamond_branch_c: 10 } }))
    await waitForTasks(o.db, [id], ['blocked_by_failures'], 60_000)
    const view = await (await fetch(`${o.url}/v1/tasks/${id}`)).json() as { execution_status: string; steps: { name: string; current_state: string; attempts: number }[] }
    expect(view.execution_status).toBe('blocked_by_failures')
    const c = view.steps.find((s) => s.name === 'diamond_branch_c')!
    expect(c).toMatchObject({ current_state: 'error', attempts: 3 })
    expect(view.steps.find((s) => s.name === 'diamond_end')!.current_state).toBe('pending')
  })

  test('a worker killed mid-step: another worker takes the step over after the visibility timeout', async () => {
    const killed = await killWorkerMidStep(o)
    const id = killed.taskUuid
    try {
      await waitForTasks(o.db, [id], ['complete'], 60_000)
    } finally {
      await o.orchestrator.startWorker()
    }
    const { rows } = await o.db.pool.query<{ to_state: string; worker_id: string | null }>(
      `SELECT to_state, metadata->>'worker_id' AS worker_id FROM tasker.workflow_step_transitions WHERE workflow_step_uuid = $1 ORDER BY sort_key`,
      [killed.stepUuid],
    )
    const claims = rows.filter((r) => r.to_state === 'in_progress')
    expect(claims).toHaveLength(2)
    expect(claims[0]!.worker_id).toBe(killed.workerId)
    expect(claims[1]!.worker_id).not.toBe(killed.workerId)
    expect(rows.filter((r) => r.to_state === 'enqueued_for_orchestration')).toHaveLength(1)
    expect(rows.filter((r) => r.to_state === 'complete')).toHaveLength(1)
    const results = await stepResults(o.db, id)
    expect(results.linear_step_3!.result).toBe(Number(expected('linear', 6n).linear_step_3))
  })

  test('an orchestration restart mid-run: tasks in flight still complete', async () => {
    const ids = []
    for (let i = 0; i < 10; i++) ids.push(await createTask(o.url, taskBody(i % 2 ? 'diamond' : 'linear', { bench_sleep_ms: 150 })))
    await o.orchestrator.restartOrchestration()
    for (let i = 0; i < 5; i++) ids.push(await createTask(o.url, taskBody('mixed', { bench_sleep_ms: 50 })))
    await waitForTasks(o.db, ids, ['complete'], 90_000)
  })

  test('1000 tasks created concurrently all complete, each step handled exactly once', async () => {
    const templates = ['linear', 'diamond', 'tree', 'mixed'] as const
    const ids: string[] = []
    let next = 0
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < 1000) {
          const i = next++
          ids.push(await createTask(o.url, taskBody(templates[i % 4]!, { even_number: 2 + (i % 7) * 2 })))
        }
      }),
    )
    expect(ids).toHaveLength(1000)
    await waitForTasks(o.db, ids, ['complete'], 300_000)
    const rows = await stepTransitionCounts(o.db, ids)
    expect(rows.filter((r) => r.completes !== 1 || r.submits !== 1)).toEqual([])
    // 250 each of linear (3 steps), diamond (4), tree (8) and mixed (7): every step was handled.
    expect(rows.length).toBe(250 * (3 + 4 + 8 + 7))
    const queues = await o.db.pool.query<{ n: number }>(`SELECT (SELECT count(*) FROM pgmq.q_orchestration_step_results)::int AS n`)
    expect(queues.rows[0]!.n).toBe(0)
    // Each step was sent to its worker queue exactly once, and every message was archived.
    const messages = await o.db.pool.query<{ step_uuid: string; sent: number; waiting: number }>(
      `SELECT m.message->>'step_uuid' AS step_uuid, count(*)::int AS sent, count(*) FILTER (WHERE m.waiting)::int AS waiting
       FROM (SELECT message, true AS waiting FROM pgmq.q_worker_linear_workflow_queue UNION ALL SELECT message, false FROM pgmq.a_worker_linear_workflow_queue
             UNION ALL SELECT message, true FROM pgmq.q_worker_diamond_workflow_queue UNION ALL SELECT message, false FROM pgmq.a_worker_diamond_workflow_queue
             UNION ALL SELECT message, true FROM pgmq.q_worker_tree_workflow_queue UNION ALL SELECT message, false FROM pgmq.a_worker_tree_workflow_queue
             UNION ALL SELECT message, true FROM pgmq.q_worker_mixed_dag_workflow_queue UNION ALL SELECT message, false FROM pgmq.a_worker_mixed_dag_workflow_queue) m
       WHERE m.message->>'task_uuid' = ANY ($1::text[])
       GROUP BY 1`,
      [ids],
    )
    expect(messages.rows.length).toBe(rows.length)
    expect(messages.rows.filter((r) => r.sent !== 1 || r.waiting !== 0)).toEqual([])
  }, 420_000)

  test('the logs hold no error lines', () => {
    expect(errorLines(o.orchestrator.logDir)).toEqual([])
  })
})
