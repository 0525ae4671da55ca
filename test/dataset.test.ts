/**
 * The dataset generator (harness/bench/dataset): deterministic per seed whatever the chunking and the
 * database, and internally consistent — step states, flags and transition histories agree with
 * the task's state category, and the SQL functions see each task the way it was generated.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import pg from 'pg'
import { applyMigrations } from '../orchestrator/index.ts'
import { datasetChecksum, type DatasetChecksum } from '../harness/bench/dataset/checksum.ts'
import { CATEGORY_MIX, SHAPE_MIX } from '../harness/bench/dataset/mix.ts'
import { countSeededTasks, seedDataset } from '../harness/bench/dataset/seed-dataset.ts'
import { sampleDataset } from '../harness/bench/dataset/sample.ts'
import { SHAPE_TEMPLATES } from '../harness/bench/dataset/shapes.ts'
import { capturePlans } from '../harness/bench/database/explain.ts'
import { migrateTasker, usePostgres } from './support/postgres.ts'

const TASKS = 2_000

const db = usePostgres(migrateTasker)

/** A second database on the same server, migrated, for the cross-database comparison. */
async function freshDatabase(name: string): Promise<pg.Client> {
  await db.pool.query(`CREATE DATABASE ${name}`)
  const url = new URL(db.server.url)
  url.pathname = `/${name}`
  const client = new pg.Client({ connectionString: url.toString() })
  await client.connect()
  await applyMigrations(client)
  return client
}

let reference: DatasetChecksum

beforeAll(async () => {
  // Two connections, chunks of 700: 0..699, 700..1399, 1400..1999 written concurrently.
  await seedDataset(db.pool, { seed: 42, from: 0, count: TASKS, chunkSize: 700, concurrency: 2 })
  const client = await db.pool.connect()
  try {
    reference = await datasetChecksum(client)
  } finally {
    client.release()
  }
}, 300_000)

describe('determinism', () => {
  let other: pg.Client

  beforeAll(async () => {
    other = await freshDatabase('dataset_copy')
  }, 120_000)
  afterAll(async () => {
    await other?.end()
  })

  test('the same seed gives the same rows in another database, grown in other steps', async () => {
    await seedDataset(other, { seed: 42, from: 0, count: 150 })
    expect(await countSeededTasks(other, 42)).toBe(150)
    await seedDataset(other, { seed: 42, from: 150, count: TASKS - 150 })
    const copy = await datasetChecksum(other)
    expect(copy.counts).toEqual(reference.counts)
    expect(copy.checksum).toBe(reference.checksum)
    // …although the templates were registered under other keys there.
    const key = 'SELECT named_task_uuid FROM tasker.named_tasks WHERE name = $1'
    const [a, b] = await Promise.all([db.pool.query(key, ['diamond_pattern']), other.query(key, ['diamond_pattern'])])
    expect(a.rows[0].named_task_uuid).not.toBe(b.rows[0].named_task_uuid)
  })

  test('a different seed gives different rows', async () => {
    await other.query('TRUNCATE tasker.tasks CASCADE')
    await seedDataset(other, { seed: 43, from: 0, count: TASKS })
    const different = await datasetChecksum(other)
    expect(different.counts.tasks).toBe(TASKS)
    expect(different.checksum).not.toBe(reference.checksum)
    const { rows } = await other.query(`SELECT count(*)::int AS n FROM tasker.tasks WHERE context->'_dataset'->>'seed' = '42'`)
    expect(rows[0].n).toBe(0)
  })

  test('a range that exists already is refused, naming the way out', async () => {
    await expect(seedDataset(db.pool, { seed: 42, from: TASKS - 10, count: 20 })).rejects.toThrow(/already exist.*|countSeededTasks/)
    expect(await countSeededTasks(db.pool, 42)).toBe(TASKS)
  })

  test('templates are registered once, with their steps', async () => {
    const { rows } = await db.pool.query(`
      SELECT ns.name AS namespace, nt.name, nt.version, count(ntns.*)::int AS steps
      FROM tasker.named_tasks nt
      JOIN tasker.task_namespaces ns ON ns.task_namespace_uuid = nt.task_namespace_uuid
      LEFT JOIN tasker.named_tasks_named_steps ntns ON ntns.named_task_uuid = nt.named_task_uuid
      GROUP BY 1, 2, 3 ORDER BY 1`)
    expect(rows).toEqual(
      Object.values(SHAPE_TEMPLATES)
        .map((t) => ({ namespace: t.namespace, name: t.name, version: t.version, steps: t.steps }))
        .sort((a, b) => a.namespace.localeCompare(b.namespace)),
    )
  })
})

describe('consistency', () => {
  test('the SQL functions see each task as generated', async () => {
    const { rows } = await db.pool.query<{ category: string; execution_status: string; n: number }>(`
      SELECT t.context->'_dataset'->>'state' AS category, c.execution_status, count(*)::int AS n
      FROM tasker.tasks t CROSS JOIN LATERAL tasker.get_task_execution_context(t.task_uuid) c
      GROUP BY 1, 2 ORDER BY 1, 2`)
    const seen = new Map<string, Set<string>>()
    for (const r of rows) seen.set(r.category, (seen.get(r.category) ?? new Set()).add(r.execution_status))
    const allowed: Record<string, string[]> = {
      complete: ['all_complete'],
      error: ['blocked_by_failures'],
      pending: ['has_ready_steps'],
      in_progress: ['processing', 'has_ready_steps'],
      // The default anchor is in the past, so every backoff has expired: the failed step is ready.
      waiting_for_retry: ['has_ready_steps'],
      // its first frontier step is pending with its parents complete
      waiting_for_dependencies: ['has_ready_steps'],
    }
    expect(new Set(seen.keys())).toEqual(new Set(Object.keys(allowed)))
    for (const [category, statuses] of seen) expect([...statuses].filter((s) => !allowed[category]!.includes(s)), category).toEqual([])
    // Both kinds of in-progress tasks exist: some frontier steps still wait to be enqueued.
    expect(seen.get('in_progress')).toEqual(new Set(['processing', 'has_ready_steps']))
  })

  test('every task and step has a gapless history whose last transition is the only most_recent', async () => {
    for (const [table, key] of [
      ['task_transitions', 'task_uuid'],
      ['workflow_step_transitions', 'workflow_step_uuid'],
    ] as const) {
      const { rows } = await db.pool.query(`
        SELECT count(*)::int AS bad FROM (
          SELECT ${key}
          FROM (SELECT ${key}, sort_key, most_recent, from_state, to_state,
                       lag(to_state) OVER (PARTITION BY ${key} ORDER BY sort_key) AS previous
                FROM tasker.${table}) h
          GROUP BY ${key}
          HAVING count(*) FILTER (WHERE most_recent) <> 1
              OR min(sort_key) <> 1 OR max(sort_key) <> count(*)
              OR bool_or(most_recent AND sort_key <> (SELECT max(sort_key) FROM tasker.${table} x WHERE x.${key} = h.${key}))
              OR bool_or(from_state IS DISTINCT FROM previous)
        ) broken`)
      expect(rows[0].bad, table).toBe(0)
    }
    const missing = await db.pool.query(`
      SELECT (SELECT count(*)::int FROM tasker.tasks t WHERE NOT EXISTS (SELECT 1 FROM tasker.task_transitions x WHERE x.task_uuid = t.task_uuid)) AS tasks,
             (SELECT count(*)::int FROM tasker.workflow_steps s WHERE NOT EXISTS (SELECT 1 FROM tasker.workflow_step_transitions x WHERE x.workflow_step_uuid = s.workflow_step_uuid)) AS steps`)
    expect(missing.rows[0]).toEqual({ tasks: 0, steps: 0 })
  })

  test('step states, flags and results agree with the task category', async () => {
    const { rows } = await db.pool.query(`
      WITH s AS (
        SELECT t.task_uuid, t.context->'_dataset'->>'state' AS category, t.complete, t.completed_at,
               ws.attempts, ws.max_attempts, ws.in_process, ws.processed, ws.results, ws.last_attempted_at,
               tr.to_state AS state
        FROM tasker.tasks t
        JOIN tasker.workflow_steps ws ON ws.task_uuid = t.task_uuid
        JOIN tasker.workflow_step_transitions tr ON tr.workflow_step_uuid = ws.workflow_step_uuid AND tr.most_recent
      )
      SELECT category, count(DISTINCT task_uuid)::int AS tasks,
        count(DISTINCT task_uuid) FILTER (WHERE category = 'complete' AND (state <> 'complete' OR NOT processed OR results IS NULL OR NOT complete OR completed_at IS NULL))::int AS bad_complete,
        count(DISTINCT task_uuid) FILTER (WHERE category = 'pending' AND (state <> 'pending' OR attempts <> 0))::int AS bad_pending,
        count(DISTINCT task_uuid) FILTER (WHERE category <> 'complete' AND (complete OR completed_at IS NOT NULL))::int AS bad_incomplete,
        count(*) FILTER (WHERE state = 'error')::int AS error_steps,
        count(*) FILTER (WHERE state = 'error' AND attempts <> max_attempts)::int AS error_not_exhausted,
        count(*) FILTER (WHERE state = 'waiting_for_retry')::int AS retry_steps,
        count(*) FILTER (WHERE state = 'waiting_for_retry' AND NOT (attempts BETWEEN 1 AND max_attempts - 1 AND last_attempted_at IS NOT NULL))::int AS bad_retry,
        count(*) FILTER (WHERE in_process <> (state = 'in_progress') OR processed <> (state = 'complete'))::int AS bad_flags,
        count(*) FILTER (WHERE (attempts > 0) <> (last_attempted_at IS NOT NULL))::int AS bad_attempts
      FROM s GROUP BY category ORDER BY category`)
    const by = Object.fromEntries(rows.map((r) => [r.category, r]))
    for (const r of rows) {
      expect(r, r.category).toMatchObject({ bad_complete: 0, bad_pending: 0, bad_incomplete: 0, error_not_exhausted: 0, bad_retry: 0, bad_flags: 0, bad_attempts: 0 })
    }
    // Exactly one failed step per error task, one retrying step per waiting_for_retry task.
    expect(by.error.error_steps).toBe(by.error.tasks)
    expect(by.waiting_for_retry.retry_steps).toBe(by.waiting_for_retry.tasks)
    expect(by.in_progress.error_steps + by.in_progress.retry_steps).toBe(0)
  })

  test('no step is further along than its parents allow, and edges stay inside a task', async () => {
    const { rows } = await db.pool.query(`
      SELECT
        count(*) FILTER (WHERE c.to_state NOT IN ('pending') AND p.to_state NOT IN ('complete'))::int AS started_before_parents,
        count(*) FILTER (WHERE ps.task_uuid <> cs.task_uuid)::int AS across_tasks
      FROM tasker.workflow_step_edges e
      JOIN tasker.workflow_steps ps ON ps.workflow_step_uuid = e.from_step_uuid
      JOIN tasker.workflow_steps cs ON cs.workflow_step_uuid = e.to_step_uuid
      JOIN tasker.workflow_step_transitions p ON p.workflow_step_uuid = e.from_step_uuid AND p.most_recent
      JOIN tasker.workflow_step_transitions c ON c.workflow_step_uuid = e.to_step_uuid AND c.most_recent`)
    expect(rows[0]).toEqual({ started_before_parents: 0, across_tasks: 0 })
  })

  test('every reference resolves (the generator may skip the foreign-key triggers)', async () => {
    const { rows } = await db.pool.query(`
      SELECT
        (SELECT count(*)::int FROM tasker.tasks t WHERE NOT EXISTS (SELECT 1 FROM tasker.named_tasks n WHERE n.named_task_uuid = t.named_task_uuid)) AS tasks,
        (SELECT count(*)::int FROM tasker.workflow_steps s WHERE NOT EXISTS (SELECT 1 FROM tasker.tasks t WHERE t.task_uuid = s.task_uuid)
                                                              OR NOT EXISTS (SELECT 1 FROM tasker.named_steps n WHERE n.named_step_uuid = s.named_step_uuid)) AS steps,
        (SELECT count(*)::int FROM tasker.workflow_step_edges e WHERE NOT EXISTS (SELECT 1 FROM tasker.workflow_steps s WHERE s.workflow_step_uuid = e.from_step_uuid)
                                                                   OR NOT EXISTS (SELECT 1 FROM tasker.workflow_steps s WHERE s.workflow_step_uuid = e.to_step_uuid)) AS edges,
        (SELECT count(*)::int FROM tasker.workflow_step_transitions x WHERE NOT EXISTS (SELECT 1 FROM tasker.workflow_steps s WHERE s.workflow_step_uuid = x.workflow_step_uuid)) AS step_transitions,
        (SELECT count(*)::int FROM tasker.task_transitions x WHERE NOT EXISTS (SELECT 1 FROM tasker.tasks t WHERE t.task_uuid = x.task_uuid)) AS task_transitions`)
    expect(rows[0]).toEqual({ tasks: 0, steps: 0, edges: 0, step_transitions: 0, task_transitions: 0 })
  })

  test('the mix of states and shapes is close to the target', async () => {
    const { rows } = await db.pool.query<{ state: string; shape: string; n: number }>(
      `SELECT context->'_dataset'->>'state' AS state, context->'_dataset'->>'shape' AS shape, count(*)::int AS n FROM tasker.tasks GROUP BY 1, 2`,
    )
    const share = (key: 'state' | 'shape', value: string) => rows.filter((r) => r[key] === value).reduce((a, r) => a + r.n, 0) / TASKS
    for (const m of CATEGORY_MIX) expect(Math.abs(share('state', m.value) - m.share), `${m.value}: ${share('state', m.value)}`).toBeLessThan(0.03)
    for (const m of SHAPE_MIX) expect(Math.abs(share('shape', m.value) - m.share), `${m.value}: ${share('shape', m.value)}`).toBeLessThan(0.03)
    // The task state the functions read is the generated one.
    const states = await db.pool.query(`
      SELECT count(*)::int AS n FROM tasker.tasks t
      JOIN tasker.task_transitions tt ON tt.task_uuid = t.task_uuid AND tt.most_recent
      WHERE (t.context->'_dataset'->>'state' = 'in_progress') <> (tt.to_state = 'steps_in_process')
         OR (t.context->'_dataset'->>'state' = 'complete') <> (tt.to_state = 'complete')`)
    expect(states.rows[0].n).toBe(0)
  })

  test('the bench sample covers every template and state, the same for the same seed', async () => {
    const client = await db.pool.connect()
    try {
      const a = await sampleDataset(client, { seed: 42, size: 200 })
      const b = await sampleDataset(client, { seed: 42, size: 200 })
      expect(b).toEqual(a)
      expect(a.tasks.length).toBeGreaterThanOrEqual(200)
      expect(a.tasks.length).toBeLessThan(230)
      expect(new Set(a.strata.map((s) => s.template)).size).toBe(4)
      expect(a.tasks.every((t) => t.leafStepUuid)).toBe(true)
      const c = await sampleDataset(client, { seed: 7, size: 200 })
      expect(c.tasks.map((t) => t.taskUuid)).not.toEqual(a.tasks.map((t) => t.taskUuid))
    } finally {
      client.release()
    }
  })
})

describe('query plans', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tasker-bench-plans-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  test('a function that is not inlined is captured with the plans of the statements inside', async () => {
    const client = new pg.Client({ connectionString: db.server.url })
    await client.connect()
    try {
      const [plan] = await capturePlans(client, [{ name: 'get_next_ready_tasks(5)', file: 'next', sql: 'SELECT * FROM tasker.get_next_ready_tasks($1)', values: [5] }], { dir, scale: '2K' })
      expect(plan!.opaque).toBe(true)
      expect(plan!.nested.length).toBeGreaterThan(0)
      expect(plan!.nested.every((n) => typeof n.plan['Node Type'] === 'string')).toBe(true)
      const file = JSON.parse(readFileSync(path.join(dir, 'next.json'), 'utf8'))
      expect(file).toMatchObject({ function: 'get_next_ready_tasks(5)', scale: '2K', parameters: [5] })
      expect(file.plan[0].Plan['Node Type']).toBe('Function Scan')
      expect(plan!.warnings).toEqual([])
    } finally {
      await client.end()
    }
  })

  test('what the captured calls change is rolled back', async () => {
    const client = new pg.Client({ connectionString: db.server.url })
    await client.connect()
    try {
      const state = `SELECT to_state FROM tasker.task_transitions WHERE task_uuid = $1 AND most_recent`
      const { rows } = await client.query(`SELECT task_uuid FROM tasker.tasks WHERE context->'_dataset'->>'state' = 'pending' LIMIT 1`)
      const task = rows[0].task_uuid
      await capturePlans(client, [{ name: 'cancel', file: 'cancel', sql: `SELECT tasker.transition_task($1::uuid, NULL, 'cancelled')`, values: [task] }], { dir, scale: '2K' })
      expect((await db.pool.query(state, [task])).rows).toEqual([{ to_state: 'pending' }])
    } finally {
      await client.end()
    }
  })

  test('a sequential scan of a large table and a scan reading much of one are warned about', async () => {
    const client = new pg.Client({ connectionString: db.server.url })
    await client.connect()
    try {
      const plans = await capturePlans(
        client,
        [
          { name: 'count steps', file: 'count', sql: `SELECT count(*) FROM tasker.workflow_steps WHERE attempts >= $1`, values: [0] },
          { name: 'one step', file: 'one', sql: `SELECT * FROM tasker.workflow_steps WHERE workflow_step_uuid = $1`, values: ['00000000-0000-7000-8000-000000000000'] },
        ],
        { dir, scale: '2K', largeTableRows: 1_000 },
      )
      expect(plans[0]!.warnings).toEqual([expect.stringMatching(/^count steps @2K: (Parallel )?Seq Scan on workflow_steps \(\d[\d,]* rows in the table/)])
      expect(plans[1]!.warnings).toEqual([])
    } finally {
      await client.end()
    }
  })
})
