/**
 * The dataset generator on tasker-core's real schema (opt-in: needs local sources, so not in CI).
 * Builds it as tasker-core does — the real pgmq extension from a pgmq checkout, installed through
 * PostgreSQL 18's extension_control_path into a private directory, then tasker-core's
 * migrations/*.sql in name order, each in a transaction — seeds 1,000 tasks (and a range created
 * just now, so some backoffs still run), and checks that tasker-core's own
 * get_step_readiness_status reads every step as the generator means it, and that the
 * step-result audit rows the generator writes in replica mode are the ones tasker-core's trigger
 * writes in origin mode.
 *
 *   TASKER_CORE_DIR=<tasker-core checkout> PGMQ_SOURCE_DIR=<pgmq checkout at v1.5.1> \
 *     npx vitest run --project unit test/dataset-tasker-core.test.ts
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import pg from 'pg'
import { countSeededTasks, seedDataset } from '../harness/bench/dataset/seed-dataset.ts'
import { sampleDataset } from '../harness/bench/dataset/sample.ts'
import { onCleanup } from '../harness/main/cleanup.ts'
import { startEmbeddedPostgres } from '../harness/main/postgres/embedded.ts'
import type { StartedPostgres } from '../harness/main/postgres/types.ts'
import { compareReadiness, readinessCoverage } from './fixtures/readiness-agreement.ts'

const TASKER_CORE_DIR = process.env.TASKER_CORE_DIR
const PGMQ_SOURCE_DIR = process.env.PGMQ_SOURCE_DIR
const TASKS = 1_000
const RECENT_TASKS = 1_200

/**
 * A private extension directory with the checkout's pgmq.control and its SQL as
 * pgmq--<default_version>.sql: PostgreSQL 18 looks for <name>.control in the `extension`
 * subdirectory of each extension_control_path entry and reads the scripts next to it.
 */
function pgmqExtensionDir(checkout: string): { settings: Record<string, string>; remove: () => void } {
  const source = [path.join(checkout, 'pgmq-extension'), checkout].find((d) => existsSync(path.join(d, 'pgmq.control')))
  if (!source) throw new Error(`PGMQ_SOURCE_DIR=${checkout}: no pgmq.control there or in its pgmq-extension/; give a pgmq checkout (tag v1.5.1)`)
  const version = /^\s*default_version\s*=\s*'([^']+)'/m.exec(readFileSync(path.join(source, 'pgmq.control'), 'utf8'))?.[1]
  if (!version) throw new Error(`${path.join(source, 'pgmq.control')}: no default_version line`)
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tasker-bench-pgmq-'))
  const removeDir = () => rmSync(dir, { recursive: true, force: true })
  const unregister = onCleanup(`pgmq extension directory ${dir}`, removeDir, removeDir) // Ctrl-C removes it too
  const target = path.join(dir, 'extension')
  mkdirSync(target)
  copyFileSync(path.join(source, 'pgmq.control'), path.join(target, 'pgmq.control'))
  copyFileSync(path.join(source, 'sql', 'pgmq.sql'), path.join(target, `pgmq--${version}.sql`))
  // The server may run as the postgres user (when the suite runs as root).
  for (const d of [dir, target]) chmodSync(d, 0o755)
  for (const f of readdirSync(target)) chmodSync(path.join(target, f), 0o644)
  return {
    settings: { extension_control_path: `${dir}:$system` },
    remove: () => {
      removeDir()
      unregister()
    },
  }
}

/** tasker-core's migrations, in name order, each in its own transaction (as sqlx runs them). */
async function migrateTaskerCore(client: pg.ClientBase, checkout: string): Promise<string[]> {
  const dir = path.join(checkout, 'migrations')
  if (!existsSync(dir)) throw new Error(`TASKER_CORE_DIR=${checkout}: no migrations/ directory; give a tasker-core checkout`)
  const files = readdirSync(dir).filter((f) => f.endsWith('.sql')).sort()
  for (const file of files) {
    await client.query('BEGIN')
    try {
      await client.query(readFileSync(path.join(dir, file), 'utf8'))
      await client.query('COMMIT')
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {})
      throw new Error(`tasker-core migration ${file}: ${(err as Error).message}`)
    }
  }
  return files
}

describe.skipIf(!TASKER_CORE_DIR || !PGMQ_SOURCE_DIR)("tasker-core's real schema", () => {
  let server: StartedPostgres
  let removeExtensionDir = () => {}
  const clients: pg.Client[] = []

  async function database(name: string, user = 'postgres'): Promise<pg.Client> {
    const url = new URL(server.url)
    url.pathname = `/${name}`
    url.username = user
    const client = new pg.Client({ connectionString: url.toString() })
    await client.connect()
    clients.push(client)
    return client
  }

  let core: pg.Client
  let recentAnchor: Date

  beforeAll(async () => {
    const extension = pgmqExtensionDir(PGMQ_SOURCE_DIR!)
    removeExtensionDir = extension.remove
    server = await startEmbeddedPostgres({ binDir: process.env.PG_BIN_DIR || undefined, settings: extension.settings })
    const admin = await database('postgres')
    for (const name of ['tasker_core', 'tasker_core_origin']) {
      await admin.query(`CREATE DATABASE ${name}`)
      const c = await database(name)
      await migrateTaskerCore(c, TASKER_CORE_DIR!)
    }
    core = await database('tasker_core')
    await seedDataset(core, { seed: 'fixed', from: 0, count: TASKS })
    recentAnchor = new Date(Date.now() - 40_000)
    await seedDataset(core, { seed: 'recent', from: 0, count: RECENT_TASKS, anchor: recentAnchor })
  }, 600_000)

  afterAll(async () => {
    for (const c of clients) await c.end().catch(() => {})
    await server?.stop()
    removeExtensionDir()
  }, 60_000)

  test('the schema is the real one: pgmq from the checkout, tasker-core functions, no current_state column', async () => {
    const { rows } = await core.query(`
      SELECT (SELECT extversion FROM pg_extension WHERE extname = 'pgmq') AS pgmq,
             to_regprocedure('tasker.get_step_readiness_status(uuid, uuid[])') IS NOT NULL AS readiness,
             to_regclass('tasker.workflow_step_result_audit') IS NOT NULL AS audit,
             EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'tasker.tasks'::regclass AND attname = 'current_state') AS current_state`)
    expect(rows[0]).toMatchObject({ readiness: true, audit: true, current_state: false })
    expect(rows[0].pgmq).toMatch(/^\d+\.\d+\.\d+$/)
  })

  test("tasker-core's get_step_readiness_status agrees with the generator on every step", async () => {
    const { expected, want, got } = await compareReadiness(core, 'fixed', TASKS)
    expect(got.length).toBe(want.length)
    expect(got).toEqual(want)
    const c = readinessCoverage(expected)
    expect(c.readyPending).toBeGreaterThan(0)
    expect(c.readyRetry).toBeGreaterThan(0)
    expect(c.exhausted).toBeGreaterThan(0)
  })

  test('the bench helpers read it: seeded-task count and the stratified sample', async () => {
    expect(await countSeededTasks(core, 'fixed')).toBe(TASKS)
    const sample = await sampleDataset(core, { seed: 1, size: 100 })
    expect(new Set(sample.strata.map((s) => s.template)).size).toBe(4)
    expect(sample.tasks.every((t) => t.leafStepUuid)).toBe(true)
  })

  test('and where backoffs still run', async () => {
    const { expected, want, got } = await compareReadiness(core, 'recent', RECENT_TASKS, recentAnchor)
    expect(got).toEqual(want)
    expect(readinessCoverage(expected).backingOff).toBeGreaterThan(0)
  })

  test("the audit rows written in replica mode are the ones tasker-core's trigger writes", async () => {
    const admin = await database('tasker_core_origin')
    await admin.query(`CREATE ROLE dataset_writer LOGIN`)
    await admin.query(`GRANT USAGE ON SCHEMA tasker, pgmq TO dataset_writer; GRANT ALL ON ALL TABLES IN SCHEMA tasker TO dataset_writer`)
    const writer = await database('tasker_core_origin', 'dataset_writer')
    const r = await seedDataset(writer, { seed: 'fixed', from: 0, count: TASKS, analyze: false })
    expect(r.foreignKeyChecks).toBe(true)
    const audit = `
      SELECT a.workflow_step_transition_uuid, a.workflow_step_uuid, a.task_uuid, a.success
      FROM tasker.workflow_step_result_audit a JOIN tasker.tasks t ON t.task_uuid = a.task_uuid
      WHERE t.context->'_dataset'->>'seed' = 'fixed' ORDER BY 1`
    const [replica, origin] = [(await core.query(audit)).rows, (await admin.query(audit)).rows]
    expect(replica.length).toBeGreaterThan(TASKS)
    expect(origin).toEqual(replica)
  })
})
