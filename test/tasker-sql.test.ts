/**
 * The reference orchestrator's database layer against a real PostgreSQL: the compare-and-set
 * transitions, step readiness, task execution context, next-ready-task claiming, transitive
 * dependencies, and the migration runner. Tasks are built by hand (steps, edges, initial
 * transitions), then moved with the same transition functions the services use.
 */
import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type pg from 'pg'
import { applyMigrations } from '../orchestrator/index.ts'
import { migrateTasker, usePostgres, type TestPostgres } from './support/postgres.ts'

type Queryable = pg.Pool | pg.PoolClient

const SHAPES = {
  linear: {
    steps: ['linear_step_1', 'linear_step_2', 'linear_step_3', 'linear_step_4'],
    edges: [
      ['linear_step_1', 'linear_step_2'],
      ['linear_step_2', 'linear_step_3'],
      ['linear_step_3', 'linear_step_4'],
    ],
  },
  diamond: {
    steps: ['diamond_start', 'diamond_branch_b', 'diamond_branch_c', 'diamond_end'],
    edges: [
      ['diamond_start', 'diamond_branch_b'],
      ['diamond_start', 'diamond_branch_c'],
      ['diamond_branch_b', 'diamond_end'],
      ['diamond_branch_c', 'diamond_end'],
    ],
  },
} as const

type ShapeName = keyof typeof SHAPES

interface BuiltTask {
  taskUuid: string
  /** step name → workflow_step_uuid */
  steps: Record<string, string>
}

interface BuildOptions {
  priority?: number
  /** created this many seconds ago */
  ageSeconds?: number
  maxAttempts?: number
}

/** Registers the template (idempotent) and writes a task with its steps, edges and initial transitions. */
async function buildTask(q: Queryable, shape: ShapeName, options: BuildOptions = {}): Promise<BuiltTask> {
  const { steps, edges } = SHAPES[shape]
  const ns = await q.query<{ id: string }>(
    `INSERT INTO tasker.task_namespaces (name) VALUES ('sql_test')
     ON CONFLICT (name) DO UPDATE SET updated_at = now() RETURNING task_namespace_uuid AS id`,
  )
  const nt = await q.query<{ id: string }>(
    `INSERT INTO tasker.named_tasks (task_namespace_uuid, name, version) VALUES ($1, $2, '1.0.0')
     ON CONFLICT (task_namespace_uuid, name, version) DO UPDATE SET updated_at = now() RETURNING named_task_uuid AS id`,
    [ns.rows[0]!.id, shape],
  )
  const task = await q.query<{ id: string }>(
    `INSERT INTO tasker.tasks (named_task_uuid, context, identity_hash, priority, initiator, source_system, reason, created_at)
     VALUES ($1, $2, $3, $4, 'test', 'test', 'test', now() - make_interval(secs => $5))
     RETURNING task_uuid AS id`,
    [nt.rows[0]!.id, JSON.stringify({ even_number: 6, _test_run_id: randomUUID() }), randomUUID(), options.priority ?? 0, options.ageSeconds ?? 0],
  )
  const taskUuid = task.rows[0]!.id
  await q.query(`SELECT tasker.transition_task($1, NULL, 'pending')`, [taskUuid])

  const stepUuids: Record<string, string> = {}
  for (const name of steps) {
    const named = await q.query<{ id: string }>(
      `INSERT INTO tasker.named_steps (name) VALUES ($1)
       ON CONFLICT (name) DO UPDATE SET updated_at = now() RETURNING named_step_uuid AS id`,
      [name],
    )
    const step = await q.query<{ id: string }>(
      `INSERT INTO tasker.workflow_steps (task_uuid, named_step_uuid, max_attempts) VALUES ($1, $2, $3)
       RETURNING workflow_step_uuid AS id`,
      [taskUuid, named.rows[0]!.id, options.maxAttempts ?? 3],
    )
    stepUuids[name] = step.rows[0]!.id
    await q.query(`SELECT tasker.transition_step($1, NULL, 'pending')`, [step.rows[0]!.id])
  }
  for (const [from, to] of edges) {
    await q.query(`INSERT INTO tasker.workflow_step_edges (from_step_uuid, to_step_uuid) VALUES ($1, $2)`, [stepUuids[from], stepUuids[to]])
  }
  return { taskUuid, steps: stepUuids }
}

async function stepTo(q: Queryable, stepUuid: string, from: string[] | null, to: string): Promise<boolean> {
  const { rows } = await q.query<{ ok: boolean }>(`SELECT tasker.transition_step($1, $2, $3) AS ok`, [stepUuid, from, to])
  return rows[0]!.ok
}

/** The happy path of one step: pending → enqueued → in_progress → enqueued_for_orchestration → complete. */
async function completeStep(q: Queryable, stepUuid: string): Promise<void> {
  expect(await stepTo(q, stepUuid, ['pending', 'waiting_for_retry'], 'enqueued')).toBe(true)
  expect(await stepTo(q, stepUuid, ['enqueued'], 'in_progress')).toBe(true)
  expect(await stepTo(q, stepUuid, ['in_progress'], 'enqueued_for_orchestration')).toBe(true)
  expect(await stepTo(q, stepUuid, ['enqueued_for_orchestration'], 'complete')).toBe(true)
}

/** One failed attempt: pending → enqueued → in_progress → enqueued_as_error… → error → waiting_for_retry. */
async function failAttempt(q: Queryable, stepUuid: string): Promise<void> {
  expect(await stepTo(q, stepUuid, ['pending', 'waiting_for_retry'], 'enqueued')).toBe(true)
  expect(await stepTo(q, stepUuid, ['enqueued'], 'in_progress')).toBe(true)
  expect(await stepTo(q, stepUuid, ['in_progress'], 'enqueued_as_error_for_orchestration')).toBe(true)
  expect(await stepTo(q, stepUuid, ['enqueued_as_error_for_orchestration'], 'error')).toBe(true)
  expect(await stepTo(q, stepUuid, ['error'], 'waiting_for_retry')).toBe(true)
}

interface ReadinessRow {
  workflow_step_uuid: string
  task_uuid: string
  name: string
  current_state: string
  dependencies_satisfied: boolean
  retry_eligible: boolean
  ready_for_execution: boolean
  last_failure_at: Date | null
  next_retry_at: Date | null
  total_parents: number
  completed_parents: number
  attempts: number
  max_attempts: number
  backoff_request_seconds: number | null
  last_attempted_at: Date | null
}

async function readiness(q: Queryable, taskUuid: string): Promise<Record<string, ReadinessRow>> {
  const { rows } = await q.query<ReadinessRow>(`SELECT * FROM tasker.get_step_readiness_status($1)`, [taskUuid])
  return Object.fromEntries(rows.map((r) => [r.name, r]))
}

interface ContextRow {
  task_uuid: string
  status: string
  total_steps: string
  pending_steps: string
  in_progress_steps: string
  completed_steps: string
  failed_steps: string
  ready_steps: string
  execution_status: string
  recommended_action: string
  completion_percentage: string
  health_status: string
  enqueued_steps: string
}

async function context(q: Queryable, taskUuid: string): Promise<ContextRow> {
  const { rows } = await q.query<ContextRow>(`SELECT * FROM tasker.get_task_execution_context($1)`, [taskUuid])
  expect(rows).toHaveLength(1)
  return rows[0]!
}

/** Expected step counts of an execution context (the function returns them as text). */
function stepCounts(counts: Partial<Record<'total' | 'pending' | 'in_progress' | 'completed' | 'failed' | 'ready' | 'enqueued', number>>): Partial<ContextRow> {
  return Object.fromEntries(Object.entries(counts).map(([state, n]) => [`${state}_steps`, String(n)]))
}

/** What an execution context concludes about its task. */
function verdict(execution_status: string, recommended_action: string, health_status: string): Partial<ContextRow> {
  return { execution_status, recommended_action, health_status }
}

describe('tasker SQL: transitions, readiness, execution context, dependencies', () => {
  const db = usePostgres(migrateTasker)

  describe('transition_step / transition_task (compare-and-set)', () => {
    it('moves a step only from the expected states, keeps one most_recent row and the step flags', async () => {
      const { steps } = await buildTask(db.pool, 'linear')
      const step = steps.linear_step_1!

      expect(await stepTo(db.pool, step, ['pending'], 'enqueued')).toBe(true)
      expect(await stepTo(db.pool, step, ['enqueued'], 'in_progress')).toBe(true)
      // A second claim of the same step loses: the step is no longer enqueued.
      expect(await stepTo(db.pool, step, ['enqueued'], 'in_progress')).toBe(false)

      let ws = (await db.pool.query(`SELECT * FROM tasker.workflow_steps WHERE workflow_step_uuid = $1`, [step])).rows[0]
      expect(ws).toMatchObject({ in_process: true, attempts: 1, processed: false })
      expect(ws.last_attempted_at).toBeInstanceOf(Date)

      expect(await stepTo(db.pool, step, ['in_progress'], 'enqueued_for_orchestration')).toBe(true)
      ws = (await db.pool.query(`SELECT * FROM tasker.workflow_steps WHERE workflow_step_uuid = $1`, [step])).rows[0]
      expect(ws).toMatchObject({ in_process: false, attempts: 1, processed: false })

      expect(await stepTo(db.pool, step, ['enqueued_for_orchestration'], 'complete')).toBe(true)
      ws = (await db.pool.query(`SELECT * FROM tasker.workflow_steps WHERE workflow_step_uuid = $1`, [step])).rows[0]
      expect(ws).toMatchObject({ in_process: false, attempts: 1, processed: true })
      expect(ws.processed_at).toBeInstanceOf(Date)

      const history = await db.pool.query(
        `SELECT from_state, to_state, sort_key, most_recent FROM tasker.workflow_step_transitions
         WHERE workflow_step_uuid = $1 ORDER BY sort_key`,
        [step],
      )
      expect(history.rows).toEqual([
        { from_state: null, to_state: 'pending', sort_key: 1, most_recent: false },
        { from_state: 'pending', to_state: 'enqueued', sort_key: 2, most_recent: false },
        { from_state: 'enqueued', to_state: 'in_progress', sort_key: 3, most_recent: false },
        { from_state: 'in_progress', to_state: 'enqueued_for_orchestration', sort_key: 4, most_recent: false },
        { from_state: 'enqueued_for_orchestration', to_state: 'complete', sort_key: 5, most_recent: true },
      ])
    })

    it('lets exactly one of two concurrent claims win', async () => {
      const { steps } = await buildTask(db.pool, 'linear')
      const step = steps.linear_step_1!
      expect(await stepTo(db.pool, step, ['pending'], 'enqueued')).toBe(true)

      const a = await db.pool.connect()
      const b = await db.pool.connect()
      try {
        await a.query('BEGIN')
        await b.query('BEGIN')
        expect(await stepTo(a, step, ['enqueued'], 'in_progress')).toBe(true)
        // b waits for a's row lock, then sees in_progress and loses.
        const bClaim = stepTo(b, step, ['enqueued'], 'in_progress')
        await a.query('COMMIT')
        expect(await bClaim).toBe(false)
        await b.query('COMMIT')
      } finally {
        a.release()
        b.release()
      }
      const { rows } = await db.pool.query(
        `SELECT count(*)::int AS claims FROM tasker.workflow_step_transitions WHERE workflow_step_uuid = $1 AND to_state = 'in_progress'`,
        [step],
      )
      expect(rows[0].claims).toBe(1)
      const ws = await db.pool.query(`SELECT attempts FROM tasker.workflow_steps WHERE workflow_step_uuid = $1`, [step])
      expect(ws.rows[0].attempts).toBe(1)
    })

    it('completes a task, keeps tasks.current_state in step, and refuses unknown rows', async () => {
      const { taskUuid } = await buildTask(db.pool, 'linear')
      const move = async (from: string[], to: string) =>
        (await db.pool.query(`SELECT tasker.transition_task($1, $2, $3, '{"by":"test"}') AS ok`, [taskUuid, from, to])).rows[0].ok
      expect(await move(['pending'], 'initializing')).toBe(true)
      expect(await move(['pending'], 'initializing')).toBe(false)
      expect(await move(['initializing'], 'complete')).toBe(true)

      const task = (await db.pool.query(`SELECT complete, completed_at, current_state FROM tasker.tasks WHERE task_uuid = $1`, [taskUuid])).rows[0]
      expect(task).toMatchObject({ complete: true, current_state: 'complete' })
      expect(task.completed_at).toBeInstanceOf(Date)
      const last = await db.pool.query(`SELECT metadata, sort_key FROM tasker.task_transitions WHERE task_uuid = $1 AND most_recent`, [taskUuid])
      expect(last.rows).toEqual([{ metadata: { by: 'test' }, sort_key: 3 }])

      await expect(db.pool.query(`SELECT tasker.transition_step($1, NULL, 'enqueued')`, [randomUUID()])).rejects.toThrow(/workflow step .* does not exist/)
      await expect(db.pool.query(`SELECT tasker.transition_task($1, NULL, 'complete')`, [randomUUID()])).rejects.toThrow(/task .* does not exist/)
    })

    it('rejects a state name the contract does not list', async () => {
      const { steps } = await buildTask(db.pool, 'linear')
      await expect(stepTo(db.pool, steps.linear_step_1!, null, 'running')).rejects.toThrow(/step_state/)
    })

    it('keeps tasks.current_state for transitions written directly, also by replica-mode bulk loaders', async () => {
      const { taskUuid } = await buildTask(db.pool, 'linear')
      const client = await db.pool.connect()
      try {
        await client.query('BEGIN')
        await client.query('SET LOCAL session_replication_role = replica')
        await client.query(`UPDATE tasker.task_transitions SET most_recent = false WHERE task_uuid = $1`, [taskUuid])
        await client.query(
          `INSERT INTO tasker.task_transitions (task_uuid, to_state, from_state, sort_key, most_recent)
           VALUES ($1, 'waiting_for_retry', 'pending', 2, true)`,
          [taskUuid],
        )
        await client.query('COMMIT')
      } finally {
        client.release()
      }
      const { rows } = await db.pool.query(`SELECT current_state FROM tasker.tasks WHERE task_uuid = $1`, [taskUuid])
      expect(rows[0].current_state).toBe('waiting_for_retry')
    })

    it('gives every table UUIDv7 keys by default', async () => {
      const { taskUuid, steps } = await buildTask(db.pool, 'linear')
      const { rows } = await db.pool.query(`SELECT uuid_extract_version($1::uuid) AS t, uuid_extract_version($2::uuid) AS s`, [taskUuid, steps.linear_step_1])
      expect(rows[0]).toEqual({ t: 7, s: 7 })
    })
  })

  describe('get_step_readiness_status', () => {
    it('makes the root ready and each child ready only once its parent is complete', async () => {
      const { taskUuid, steps } = await buildTask(db.pool, 'linear')
      let r = await readiness(db.pool, taskUuid)
      expect(Object.keys(r)).toHaveLength(4)
      expect(r.linear_step_1).toMatchObject({ current_state: 'pending', dependencies_satisfied: true, retry_eligible: true, ready_for_execution: true, total_parents: 0, completed_parents: 0, attempts: 0, max_attempts: 3, next_retry_at: null })
      expect(r.linear_step_2).toMatchObject({ dependencies_satisfied: false, ready_for_execution: false, total_parents: 1, completed_parents: 0 })

      // Enqueued, the root is no longer ready; its child still is not.
      expect(await stepTo(db.pool, steps.linear_step_1!, ['pending'], 'enqueued')).toBe(true)
      r = await readiness(db.pool, taskUuid)
      expect(r.linear_step_1).toMatchObject({ current_state: 'enqueued', ready_for_execution: false })
      expect(r.linear_step_2!.ready_for_execution).toBe(false)

      expect(await stepTo(db.pool, steps.linear_step_1!, ['enqueued'], 'in_progress')).toBe(true)
      expect(await stepTo(db.pool, steps.linear_step_1!, ['in_progress'], 'enqueued_for_orchestration')).toBe(true)
      r = await readiness(db.pool, taskUuid)
      expect(r.linear_step_2!.ready_for_execution).toBe(false) // parent handed back but not complete yet

      expect(await stepTo(db.pool, steps.linear_step_1!, ['enqueued_for_orchestration'], 'complete')).toBe(true)
      r = await readiness(db.pool, taskUuid)
      expect(r.linear_step_1).toMatchObject({ current_state: 'complete', ready_for_execution: false })
      expect(r.linear_step_2).toMatchObject({ dependencies_satisfied: true, completed_parents: 1, ready_for_execution: true })
      expect(r.linear_step_3!.ready_for_execution).toBe(false)
    })

    it('counts a resolved_manually parent as satisfied', async () => {
      const { taskUuid, steps } = await buildTask(db.pool, 'linear')
      expect(await stepTo(db.pool, steps.linear_step_1!, null, 'resolved_manually')).toBe(true)
      const r = await readiness(db.pool, taskUuid)
      expect(r.linear_step_1).toMatchObject({ current_state: 'resolved_manually', ready_for_execution: false })
      expect(r.linear_step_2).toMatchObject({ dependencies_satisfied: true, completed_parents: 1, ready_for_execution: true })
    })

    it('needs every parent of a join complete', async () => {
      const { taskUuid, steps } = await buildTask(db.pool, 'diamond')
      await completeStep(db.pool, steps.diamond_start!)
      let r = await readiness(db.pool, taskUuid)
      expect(r.diamond_branch_b!.ready_for_execution).toBe(true)
      expect(r.diamond_branch_c!.ready_for_execution).toBe(true)
      expect(r.diamond_end).toMatchObject({ total_parents: 2, completed_parents: 0, ready_for_execution: false })

      await completeStep(db.pool, steps.diamond_branch_b!)
      r = await readiness(db.pool, taskUuid)
      expect(r.diamond_end).toMatchObject({ total_parents: 2, completed_parents: 1, dependencies_satisfied: false, ready_for_execution: false })

      await completeStep(db.pool, steps.diamond_branch_c!)
      r = await readiness(db.pool, taskUuid)
      expect(r.diamond_end).toMatchObject({ total_parents: 2, completed_parents: 2, dependencies_satisfied: true, ready_for_execution: true })
    })

    it('holds a failed step back until its requested backoff has passed', async () => {
      const { taskUuid, steps } = await buildTask(db.pool, 'linear')
      const step = steps.linear_step_1!
      await failAttempt(db.pool, step)
      await db.pool.query(`UPDATE tasker.workflow_steps SET backoff_request_seconds = 3600 WHERE workflow_step_uuid = $1`, [step])

      let r = (await readiness(db.pool, taskUuid)).linear_step_1!
      expect(r).toMatchObject({ current_state: 'waiting_for_retry', attempts: 1, retry_eligible: true, dependencies_satisfied: true, ready_for_execution: false, backoff_request_seconds: 3600 })
      expect(r.last_failure_at).toBeInstanceOf(Date)
      expect(r.next_retry_at!.getTime() - r.last_attempted_at!.getTime()).toBe(3600_000)

      // An hour later (moved back in time rather than waited for) the retry is due.
      await db.pool.query(`UPDATE tasker.workflow_steps SET last_attempted_at = now() - interval '2 hours' WHERE workflow_step_uuid = $1`, [step])
      r = (await readiness(db.pool, taskUuid)).linear_step_1!
      expect(r).toMatchObject({ current_state: 'waiting_for_retry', ready_for_execution: true })
    })

    it('applies the default exponential backoff from the last failure when none was requested', async () => {
      const { taskUuid, steps } = await buildTask(db.pool, 'linear')
      const step = steps.linear_step_1!
      await failAttempt(db.pool, step)
      let r = (await readiness(db.pool, taskUuid)).linear_step_1!
      // attempts = 1 → 2^1 = 2 seconds after the failure.
      expect(r.next_retry_at!.getTime() - r.last_failure_at!.getTime()).toBe(2000)

      await failAttempt(db.pool, step)
      await failAttempt(db.pool, step)
      await db.pool.query(`UPDATE tasker.workflow_steps SET max_attempts = 10 WHERE workflow_step_uuid = $1`, [step])
      r = (await readiness(db.pool, taskUuid)).linear_step_1!
      expect(r.attempts).toBe(3)
      expect(r.next_retry_at!.getTime() - r.last_failure_at!.getTime()).toBe(8000)

      await db.pool.query(
        `UPDATE tasker.workflow_step_transitions SET created_at = created_at - interval '1 minute'
         WHERE workflow_step_uuid = $1 AND to_state = 'error'`,
        [step],
      )
      await db.pool.query(`UPDATE tasker.workflow_steps SET last_attempted_at = last_attempted_at - interval '1 minute' WHERE workflow_step_uuid = $1`, [step])
      r = (await readiness(db.pool, taskUuid)).linear_step_1!
      expect(r).toMatchObject({ retry_eligible: true, ready_for_execution: true })
    })

    it('stops retrying when attempts are exhausted or the step is not retryable', async () => {
      const { taskUuid, steps } = await buildTask(db.pool, 'linear', { maxAttempts: 1 })
      const step = steps.linear_step_1!
      await failAttempt(db.pool, step)
      // Long past any backoff, so only eligibility decides.
      await db.pool.query(`UPDATE tasker.workflow_steps SET last_attempted_at = now() - interval '1 hour' WHERE workflow_step_uuid = $1`, [step])
      await db.pool.query(
        `UPDATE tasker.workflow_step_transitions SET created_at = now() - interval '1 hour' WHERE workflow_step_uuid = $1 AND to_state = 'error'`,
        [step],
      )
      let r = (await readiness(db.pool, taskUuid)).linear_step_1!
      expect(r).toMatchObject({ attempts: 1, max_attempts: 1, retry_eligible: false, ready_for_execution: false })

      await db.pool.query(`UPDATE tasker.workflow_steps SET max_attempts = 5, retryable = false WHERE workflow_step_uuid = $1`, [step])
      r = (await readiness(db.pool, taskUuid)).linear_step_1!
      expect(r).toMatchObject({ retry_eligible: false, ready_for_execution: false })

      await db.pool.query(`UPDATE tasker.workflow_steps SET retryable = true WHERE workflow_step_uuid = $1`, [step])
      r = (await readiness(db.pool, taskUuid)).linear_step_1!
      expect(r).toMatchObject({ retry_eligible: true, ready_for_execution: true })
    })

    it('filters by step and answers for several tasks at once', async () => {
      const a = await buildTask(db.pool, 'linear')
      const b = await buildTask(db.pool, 'diamond')
      const only = await db.pool.query<ReadinessRow>(`SELECT * FROM tasker.get_step_readiness_status($1, $2)`, [a.taskUuid, [a.steps.linear_step_2]])
      expect(only.rows.map((r) => r.name)).toEqual(['linear_step_2'])

      const batch = await db.pool.query<ReadinessRow>(`SELECT * FROM tasker.get_step_readiness_status_batch($1)`, [[a.taskUuid, b.taskUuid]])
      expect(batch.rows).toHaveLength(8)
      expect(new Set(batch.rows.map((r) => r.task_uuid))).toEqual(new Set([a.taskUuid, b.taskUuid]))
      expect(batch.rows.filter((r) => r.ready_for_execution).map((r) => r.name).sort()).toEqual(['diamond_start', 'linear_step_1'])

      const filtered = await db.pool.query<ReadinessRow>(`SELECT * FROM tasker.get_step_readiness_status_batch($1, $2)`, [
        [a.taskUuid, b.taskUuid],
        [b.steps.diamond_end],
      ])
      expect(filtered.rows.map((r) => r.name)).toEqual(['diamond_end'])
    })
  })

  describe('get_task_execution_context', () => {
    it('reports ready steps of a fresh task', async () => {
      const { taskUuid } = await buildTask(db.pool, 'linear')
      expect(await context(db.pool, taskUuid)).toMatchObject({
        task_uuid: taskUuid,
        status: 'pending',
        ...stepCounts({ total: 4, pending: 4, in_progress: 0, completed: 0, failed: 0, ready: 1, enqueued: 0 }),
        ...verdict('has_ready_steps', 'execute_ready_steps', 'healthy'),
        completion_percentage: '0.00',
      })
    })

    it('reports processing while steps are in flight and nothing is ready', async () => {
      const { taskUuid, steps } = await buildTask(db.pool, 'diamond')
      await completeStep(db.pool, steps.diamond_start!)
      expect(await stepTo(db.pool, steps.diamond_branch_b!, ['pending'], 'enqueued')).toBe(true)
      // branch c is still ready: ready wins over processing.
      expect((await context(db.pool, taskUuid)).execution_status).toBe('has_ready_steps')
      expect(await stepTo(db.pool, steps.diamond_branch_c!, ['pending'], 'enqueued')).toBe(true)
      expect(await stepTo(db.pool, steps.diamond_branch_c!, ['enqueued'], 'in_progress')).toBe(true)
      expect(await context(db.pool, taskUuid)).toMatchObject({
        // enqueued: branch b (tasker-core's definition: enqueued, also for orchestration)
        ...stepCounts({ in_progress: 2, enqueued: 1, completed: 1, pending: 1, ready: 0 }),
        ...verdict('processing', 'wait_for_completion', 'healthy'),
        completion_percentage: '25.00',
      })
    })

    it('puts any failed step before ready steps', async () => {
      const { taskUuid, steps } = await buildTask(db.pool, 'diamond')
      await completeStep(db.pool, steps.diamond_start!)
      expect(await stepTo(db.pool, steps.diamond_branch_b!, null, 'error')).toBe(true)
      expect(await context(db.pool, taskUuid)).toMatchObject({
        ...stepCounts({ failed: 1, ready: 1 }), // ready: branch c
        ...verdict('blocked_by_failures', 'handle_failures', 'blocked'),
      })
    })

    it('waits for dependencies while a retry backs off, and reports recovering', async () => {
      const { taskUuid, steps } = await buildTask(db.pool, 'linear')
      await failAttempt(db.pool, steps.linear_step_1!)
      await db.pool.query(`UPDATE tasker.workflow_steps SET backoff_request_seconds = 3600 WHERE workflow_step_uuid = $1`, [steps.linear_step_1])
      expect(await context(db.pool, taskUuid)).toMatchObject({
        ...stepCounts({ pending: 4, ready: 0, failed: 0 }),
        ...verdict('waiting_for_dependencies', 'wait_for_dependencies', 'recovering'),
      })
    })

    it('reports all_complete when every step is complete', async () => {
      const { taskUuid, steps } = await buildTask(db.pool, 'diamond')
      for (const name of SHAPES.diamond.steps) await completeStep(db.pool, steps[name]!)
      expect(await context(db.pool, taskUuid)).toMatchObject({
        ...stepCounts({ total: 4, completed: 4, ready: 0 }),
        ...verdict('all_complete', 'finalize_task', 'healthy'),
        completion_percentage: '100.00',
      })
    })

    it('returns no row for an unknown task', async () => {
      const { rows } = await db.pool.query(`SELECT * FROM tasker.get_task_execution_context($1)`, [randomUUID()])
      expect(rows).toEqual([])
    })
  })

  describe('get_step_transitive_dependencies', () => {
    it('returns every ancestor with its shortest distance and results', async () => {
      const { steps } = await buildTask(db.pool, 'diamond')
      await db.pool.query(`UPDATE tasker.workflow_steps SET results = jsonb_build_object('result', 36) WHERE workflow_step_uuid = $1`, [steps.diamond_start])
      const { rows } = await db.pool.query(`SELECT * FROM tasker.get_step_transitive_dependencies($1)`, [steps.diamond_end])
      const byName = Object.fromEntries(rows.map((r) => [r.step_name, r]))
      expect(Object.keys(byName).sort()).toEqual(['diamond_branch_b', 'diamond_branch_c', 'diamond_start'])
      expect(byName.diamond_branch_b.distance).toBe(1)
      expect(byName.diamond_branch_c.distance).toBe(1)
      expect(byName.diamond_start).toMatchObject({ distance: 2, results: { result: 36 }, workflow_step_uuid: steps.diamond_start })
      expect(Object.keys(byName.diamond_start)).toEqual(['workflow_step_uuid', 'task_uuid', 'named_step_uuid', 'step_name', 'results', 'processed', 'distance'])
      expect(rows.map((r) => r.distance)).toEqual([1, 1, 2]) // nearest first

      const none = await db.pool.query(`SELECT * FROM tasker.get_step_transitive_dependencies($1)`, [steps.diamond_start])
      expect(none.rows).toEqual([])
    })

    it('walks a chain to its root', async () => {
      const { steps } = await buildTask(db.pool, 'linear')
      const { rows } = await db.pool.query(`SELECT step_name, distance FROM tasker.get_step_transitive_dependencies($1)`, [steps.linear_step_4])
      expect(rows).toEqual([
        { step_name: 'linear_step_3', distance: 1 },
        { step_name: 'linear_step_2', distance: 2 },
        { step_name: 'linear_step_1', distance: 3 },
      ])
    })
  })
})

interface NextReadyRow {
  task_uuid: string
  task_name: string
  priority: number
  namespace_name: string
  ready_steps_count: string
  computed_priority: string
  current_state: string
}

async function nextReady(q: Queryable, limit: number): Promise<NextReadyRow[]> {
  return (await q.query<NextReadyRow>(`SELECT * FROM tasker.get_next_ready_tasks($1)`, [limit])).rows
}

/** What get_next_ready_tasks must return, computed the slow, obvious way over every task. */
async function bruteForceNextReady(q: Queryable, limit: number): Promise<string[]> {
  const { rows } = await q.query<{ task_uuid: string }>(
    `SELECT t.task_uuid
     FROM tasker.tasks t
     WHERE NOT t.complete
       AND t.current_state IN ('pending', 'waiting_for_dependencies', 'waiting_for_retry')
       AND EXISTS (SELECT 1 FROM tasker.get_step_readiness_status(t.task_uuid) r WHERE r.ready_for_execution)
     ORDER BY t.priority + least(extract(epoch FROM now() - t.created_at) / 60, 100) DESC, t.created_at, t.task_uuid
     LIMIT $1`,
    [limit],
  )
  return rows.map((r) => r.task_uuid)
}

// A server of its own: the ordering assertions need to know every task in the database.
describe('tasker SQL: get_next_ready_tasks', () => {
  const db: TestPostgres = usePostgres(migrateTasker)

  it('orders claimable tasks by priority aged by waiting time, skipping the unclaimable', async () => {
    const a = await buildTask(db.pool, 'linear', { priority: 0, ageSeconds: 60 }) // 0 + 1
    const b = await buildTask(db.pool, 'diamond', { priority: 5, ageSeconds: 0 }) // 5
    const c = await buildTask(db.pool, 'linear', { priority: 0, ageSeconds: 1800 }) // 0 + 30
    const d = await buildTask(db.pool, 'diamond', { priority: 10, ageSeconds: 120 }) // 10 + 2
    const g = await buildTask(db.pool, 'linear', { priority: -100, ageSeconds: 6 * 3600 }) // -100 + 100 (capped)

    // Not claimable: steps in flight (steps_in_process), no ready step, finished, and failed.
    const inFlight = await buildTask(db.pool, 'linear', { priority: 100, ageSeconds: 3600 })
    await db.pool.query(`SELECT tasker.transition_task($1, NULL, 'steps_in_process')`, [inFlight.taskUuid])
    const noReadyStep = await buildTask(db.pool, 'linear', { priority: 100, ageSeconds: 3600 })
    expect(await stepTo(db.pool, noReadyStep.steps.linear_step_1!, ['pending'], 'enqueued')).toBe(true)
    await db.pool.query(`SELECT tasker.transition_task($1, NULL, 'waiting_for_dependencies')`, [noReadyStep.taskUuid])
    const done = await buildTask(db.pool, 'linear', { priority: 100, ageSeconds: 3600 })
    await db.pool.query(`SELECT tasker.transition_task($1, NULL, 'complete')`, [done.taskUuid])
    const failed = await buildTask(db.pool, 'linear', { priority: 100, ageSeconds: 3600 })
    await db.pool.query(`SELECT tasker.transition_task($1, NULL, 'error')`, [failed.taskUuid])

    const rows = await nextReady(db.pool, 10)
    expect(rows.map((r) => r.task_uuid)).toEqual([c.taskUuid, d.taskUuid, b.taskUuid, a.taskUuid, g.taskUuid])
    expect(rows[0]).toMatchObject({ task_name: 'linear', priority: 0, namespace_name: 'sql_test', ready_steps_count: '1', current_state: 'pending' })
    expect(Number(rows[0]!.computed_priority)).toBeCloseTo(30, 0)
    expect(Number(rows[1]!.computed_priority)).toBeCloseTo(12, 0)
    expect(Number(rows[4]!.computed_priority)).toBe(0)

    expect((await nextReady(db.pool, 2)).map((r) => r.task_uuid)).toEqual([c.taskUuid, d.taskUuid])
    expect(await nextReady(db.pool, 0)).toEqual([])
  })

  it('gives concurrent transactions disjoint tasks (FOR UPDATE SKIP LOCKED)', async () => {
    const first = await db.pool.connect()
    const second = await db.pool.connect()
    try {
      await first.query('BEGIN')
      await second.query('BEGIN')
      const mine = (await nextReady(first, 2)).map((r) => r.task_uuid)
      const theirs = (await nextReady(second, 2)).map((r) => r.task_uuid)
      expect(mine).toHaveLength(2)
      expect(theirs).toHaveLength(2)
      expect(mine.filter((t) => theirs.includes(t))).toEqual([])
      // The second caller got the next best ones, not arbitrary ones.
      const best = await bruteForceNextReady(db.pool, 4)
      expect([...mine, ...theirs]).toEqual(best)

      // Once the first caller lets go, its tasks are the best again; the second's stay held.
      await first.query('ROLLBACK')
      const expected = (await bruteForceNextReady(db.pool, 6)).filter((t) => !theirs.includes(t)).slice(0, 4)
      expect((await nextReady(first, 4)).map((r) => r.task_uuid)).toEqual(expected)
    } finally {
      await first.query('ROLLBACK').catch(() => {})
      await second.query('ROLLBACK').catch(() => {})
      first.release()
      second.release()
    }
  })

  it('agrees with a brute-force ranking over many priorities and ages', async () => {
    // Deterministic spread: priorities -100..100, ages 0..10 hours, some tasks far past the cap.
    for (let i = 0; i < 40; i++) {
      const priority = ((i * 37) % 201) - 100
      const ageSeconds = (i * 7919) % 36_000
      await buildTask(db.pool, i % 2 ? 'linear' : 'diamond', { priority, ageSeconds })
    }
    for (const limit of [1, 5, 17, 100]) {
      expect((await nextReady(db.pool, limit)).map((r) => r.task_uuid)).toEqual(await bruteForceNextReady(db.pool, limit))
    }
  })
})

describe('applyMigrations', () => {
  const db = usePostgres()

  it('applies every file once, skips unchanged files, re-applies a changed one, and tolerates concurrent runs', async () => {
    const clients = await Promise.all([db.pool.connect(), db.pool.connect()])
    try {
      // Two processes starting at once: both succeed, the files are applied once.
      const [one, two] = await Promise.all(clients.map((c) => applyMigrations(c)))
      const appliedOnce = [...one.applied, ...two.applied].sort()
      const ledger = await db.pool.query<{ name: string }>(`SELECT name FROM tasker.schema_migrations ORDER BY name`)
      expect(appliedOnce).toEqual(ledger.rows.map((r) => r.name))
      expect(ledger.rows.map((r) => r.name)).toEqual(expect.arrayContaining(['0001_schema.sql', '0002_functions.sql']))
      expect(one.pgmq.kind).toMatch(/^(extension|compatible)$/)

      const again = await applyMigrations(clients[0])
      expect(again.applied).toEqual([])

      // A file edited since it was applied is applied again (and said so).
      await db.pool.query(`UPDATE tasker.schema_migrations SET checksum = 'stale' WHERE name = '0002_functions.sql'`)
      const lines: string[] = []
      const changed = await applyMigrations(clients[0], { log: (l) => lines.push(l) })
      expect(changed.applied).toEqual(['0002_functions.sql'])
      expect(lines.join('\n')).toMatch(/0002_functions\.sql changed since it was applied/)
      const fresh = await db.pool.query(`SELECT checksum FROM tasker.schema_migrations WHERE name = '0002_functions.sql'`)
      expect(fresh.rows[0].checksum).toMatch(/^[0-9a-f]{64}$/)

      // The schema file itself is idempotent: applying it twice in a row changes nothing.
      await db.pool.query(`UPDATE tasker.schema_migrations SET checksum = 'stale' WHERE name = '0001_schema.sql'`)
      expect((await applyMigrations(clients[0])).applied).toEqual(['0001_schema.sql'])
    } finally {
      for (const c of clients) c.release()
    }
  })

  it('upgrades state columns of an earlier schema (varchar + table CHECK) to the state domains, keeping the rows', async () => {
    const client = await db.pool.connect()
    try {
      await applyMigrations(client)
      const { taskUuid } = await buildTask(client, 'linear')
      // The earlier form of the columns.
      await client.query(`ALTER TABLE tasker.workflow_step_transitions ALTER COLUMN to_state TYPE varchar(64),
                            ADD CONSTRAINT workflow_step_transitions_to_state_check CHECK (to_state IN ('pending', 'enqueued'))`)
      await client.query(`ALTER TABLE tasker.tasks ALTER COLUMN current_state TYPE varchar(64)`)
      await client.query(`UPDATE tasker.schema_migrations SET checksum = 'stale' WHERE name = '0001_schema.sql'`)
      expect((await applyMigrations(client)).applied).toEqual(['0001_schema.sql'])

      const types = await client.query<{ col: string; type: string }>(
        `SELECT attrelid::regclass || '.' || attname AS col, atttypid::regtype::text AS type FROM pg_attribute
          WHERE attrelid IN ('tasker.tasks'::regclass, 'tasker.workflow_step_transitions'::regclass)
            AND attname IN ('current_state', 'to_state', 'from_state') ORDER BY 1`)
      expect(types.rows).toEqual([
        { col: 'tasker.tasks.current_state', type: 'tasker.task_state' },
        { col: 'tasker.workflow_step_transitions.to_state', type: 'tasker.step_state' },
        { col: 'tasker.workflow_step_transitions.from_state', type: 'tasker.step_state' },
      ].sort((a, b) => a.col.localeCompare(b.col)))
      const checks = await client.query(`SELECT conname FROM pg_constraint WHERE conname = 'workflow_step_transitions_to_state_check'`)
      expect(checks.rows).toEqual([])
      const kept = await client.query(`SELECT count(*)::int AS n FROM tasker.workflow_step_transitions tr
                                         JOIN tasker.workflow_steps ws USING (workflow_step_uuid) WHERE ws.task_uuid = $1`, [taskUuid])
      expect(kept.rows[0].n).toBeGreaterThan(0)
      await expect(client.query(`UPDATE tasker.tasks SET current_state = 'running' WHERE task_uuid = $1`, [taskUuid])).rejects.toThrow(/task_state/)
    } finally {
      client.release()
    }
  })
})
