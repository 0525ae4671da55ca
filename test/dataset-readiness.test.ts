/**
 * One generator for both schemas: the dataset generator fills the reference orchestrator's schema
 * and a tasker-core-shaped one (test/fixtures/tasker-core-shaped: tasker-core's tables, columns,
 * NOT NULLs, constraint names, naive timestamps, audit trigger and readiness rules), and on each
 * the schema's own get_step_readiness_status reads every step as the generator means it.
 */
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import pg from 'pg'
import { applyMigrations } from '../orchestrator/index.ts'
import { datasetChecksum } from '../harness/bench/dataset/checksum.ts'
import { seedDataset } from '../harness/bench/dataset/seed-dataset.ts'
import { compareReadiness, readinessCoverage } from './fixtures/readiness-agreement.ts'
import { applyTaskerCoreShapedSchema } from './fixtures/tasker-core-shaped/apply.ts'
import { usePostgres } from './support/postgres.ts'

const TASKS = 600
/** A second seed created around now, so that some failed steps are still in their backoff. */
const RECENT_TASKS = 1_200

const db = usePostgres()

async function database(name: string, prepare: (c: pg.Client) => Promise<unknown>): Promise<pg.Client> {
  await db.pool.query(`CREATE DATABASE ${name}`)
  const url = new URL(db.server.url)
  url.pathname = `/${name}`
  const client = new pg.Client({ connectionString: url.toString() })
  await client.connect()
  await prepare(client)
  return client
}

const SCHEMAS = {
  reference: (c: pg.Client) => applyMigrations(c),
  'tasker-core-shaped': (c: pg.Client) => applyTaskerCoreShapedSchema(c),
} as const

describe.each(Object.entries(SCHEMAS))('on the %s schema', (name, prepare) => {
  let client: pg.Client
  let recentAnchor: Date

  beforeAll(async () => {
    client = await database(`readiness_${name.replaceAll('-', '_')}`, prepare)
    await seedDataset(client, { seed: 'fixed', from: 0, count: TASKS, chunkSize: 250 })
    // Tasks created from 40 s ago on, 50 ms apart: the first ones' default backoffs (seconds) have
    // expired, the last ones' requested backoffs (up to 2 minutes) run well past the test.
    recentAnchor = new Date(Date.now() - 40_000)
    await seedDataset(client, { seed: 'recent', from: 0, count: RECENT_TASKS, anchor: recentAnchor })
  }, 180_000)
  afterAll(async () => {
    await client?.end()
  })

  test("get_step_readiness_status agrees with the generator on every step (anchor in the past: every backoff expired)", async () => {
    const { expected, want, got } = await compareReadiness(client, 'fixed', TASKS)
    expect(got).toEqual(want)
    const c = readinessCoverage(expected)
    expect(c.readyPending).toBeGreaterThan(0)
    expect(c.blockedPending).toBeGreaterThan(0)
    expect(c.readyRetry).toBeGreaterThan(0)
    expect(c.backingOff).toBe(0)
    expect(c.exhausted).toBeGreaterThan(0)
  })

  test('and on a dataset created just now, where some failed steps still back off', async () => {
    const { expected, want, got } = await compareReadiness(client, 'recent', RECENT_TASKS, recentAnchor)
    expect(got).toEqual(want)
    const c = readinessCoverage(expected)
    expect(c.readyRetry).toBeGreaterThan(0)
    expect(c.backingOff).toBeGreaterThan(0)
  })
})

describe('seeding the tasker-core-shaped schema', () => {
  let core: pg.Client

  beforeAll(async () => {
    core = await database('core_shape', SCHEMAS['tasker-core-shaped'])
    // Grown in two steps, chunked differently from the copy below.
    await seedDataset(core, { seed: 42, from: 0, count: 100 })
    await seedDataset(core, { seed: 42, from: 100, count: TASKS - 100, chunkSize: 170 })
  }, 180_000)
  afterAll(async () => {
    await core?.end()
  })

  test('the same seed gives the same rows in another database; the same counts as on the reference schema', async () => {
    const copy = await database('core_shape_copy', SCHEMAS['tasker-core-shaped'])
    const reference = await database('reference_copy', SCHEMAS.reference)
    try {
      await seedDataset(copy, { seed: 42, from: 0, count: TASKS, chunkSize: 1000 })
      await seedDataset(reference, { seed: 42, from: 0, count: TASKS })
      const [a, b, r] = [await datasetChecksum(core), await datasetChecksum(copy), await datasetChecksum(reference)]
      expect(b).toEqual(a)
      expect(r.counts).toEqual(a.counts)
      // The same instants, stored as UTC wall-clock time in the naive columns.
      const sql = `SELECT created_at::text AS at FROM tasker.tasks WHERE context->'_dataset'->>'index' = '7'`
      await reference.query(`SET TimeZone = 'UTC'`)
      const [naive, aware] = await Promise.all([core.query(sql), reference.query(sql)])
      expect(`${naive.rows[0].at}+00`).toBe(aware.rows[0].at)
    } finally {
      await copy.end()
      await reference.end()
    }
  })

  test('templates are registered once, with the timestamps tasker-core requires; the views still read', async () => {
    const { rows } = await core.query(`
      SELECT (SELECT count(*)::int FROM tasker.task_namespaces) AS namespaces,
             (SELECT count(*)::int FROM tasker.named_tasks) AS named_tasks,
             (SELECT count(*)::int FROM tasker.named_tasks_named_steps) AS links,
             (SELECT count(*)::int FROM tasker.named_tasks WHERE created_at IS NULL OR updated_at IS NULL) AS undated,
             (SELECT count(*)::int FROM tasker.v_task_state_analysis) AS incomplete,
             (SELECT count(*)::int FROM tasker.tasks WHERE NOT complete) AS incomplete_tasks`)
    expect(rows[0]).toMatchObject({ namespaces: 4, named_tasks: 4, links: 3 + 4 + 8 + 7, undated: 0 })
    expect(rows[0].incomplete).toBe(rows[0].incomplete_tasks)
  })

  test('every result a worker handed back has the audit row tasker-core records, as its own trigger writes them', async () => {
    // Seeded by a superuser, in replica mode: the trigger did not fire, the generator wrote the rows.
    const audit = `
      SELECT tr.workflow_step_transition_uuid AS transition, tr.workflow_step_uuid AS step, a.task_uuid AS task,
             a.success, tr.to_state, a.recorded_at = tr.created_at AS at_transition, ws.task_uuid AS step_task
      FROM tasker.workflow_step_transitions tr
      JOIN tasker.workflow_steps ws ON ws.workflow_step_uuid = tr.workflow_step_uuid
      LEFT JOIN tasker.workflow_step_result_audit a ON a.workflow_step_transition_uuid = tr.workflow_step_transition_uuid
      WHERE tr.to_state IN ('enqueued_for_orchestration', 'enqueued_as_error_for_orchestration')
      ORDER BY 1`
    const replica = (await core.query(audit)).rows
    expect(replica.length).toBeGreaterThan(TASKS)
    expect(replica.filter((r) => r.task !== r.step_task || r.success !== (r.to_state === 'enqueued_for_orchestration') || !r.at_transition)).toEqual([])
    const { rows: extra } = await core.query(`
      SELECT count(*)::int AS n FROM tasker.workflow_step_result_audit a
      JOIN tasker.workflow_step_transitions tr ON tr.workflow_step_transition_uuid = a.workflow_step_transition_uuid
      WHERE tr.to_state NOT IN ('enqueued_for_orchestration', 'enqueued_as_error_for_orchestration')`)
    expect(extra[0].n).toBe(0)

    // Seeded by a role that may not skip triggers: the schema's own trigger writes them — the same rows.
    // The embedded server asks for a password on TCP.
    const password = randomUUID()
    await db.pool.query(`CREATE ROLE dataset_writer LOGIN PASSWORD '${password}'`)
    const origin = await database('core_shape_origin', SCHEMAS['tasker-core-shaped'])
    try {
      await origin.query(`GRANT USAGE ON SCHEMA tasker TO dataset_writer; GRANT ALL ON ALL TABLES IN SCHEMA tasker TO dataset_writer`)
      const url = new URL(db.server.url)
      url.pathname = '/core_shape_origin'
      url.username = 'dataset_writer'
      url.password = password
      const writer = new pg.Client({ connectionString: url.toString() })
      await writer.connect()
      try {
        const r = await seedDataset(writer, { seed: 42, from: 0, count: TASKS, analyze: false })
        expect(r.foreignKeyChecks).toBe(true)
        expect(r.stepResultAudits).toBe(0)
      } finally {
        await writer.end()
      }
      const triggered = (await origin.query(audit)).rows
      const key = (rows: typeof replica) => rows.map((r) => [r.transition, r.step, r.task, r.success])
      expect(key(triggered)).toEqual(key(replica))
    } finally {
      await origin.end()
    }
  })

  test('a loader naming the reference schema’s constraints fails here (the generator names none)', async () => {
    await expect(
      core.query(`INSERT INTO tasker.task_namespaces (name, created_at, updated_at) VALUES ('x', now(), now())
                  ON CONFLICT ON CONSTRAINT named_tasks_namespace_name_version_key DO NOTHING`),
    ).rejects.toThrow(/constraint .* does not exist/)
    await expect(core.query(`INSERT INTO tasker.named_steps (name) VALUES ('no_timestamps')`)).rejects.toThrow(/null value in column "created_at"/)
  })
})
