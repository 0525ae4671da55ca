/**
 * Opt-in: the reference orchestrator and the notify wrappers on the real pgmq extension, built
 * from a local pgmq checkout (PGMQ_SOURCE_DIR, e.g. a clone of github.com/pgmq/pgmq at v1.5.1)
 * and installed into a private extension directory of the embedded PostgreSQL 18
 * (harness/main/postgres/pgmq-from-source.ts). Skipped without PGMQ_SOURCE_DIR: CI has no third-party
 * code. Checks, on the real extension: that the migrations chose it; that the surface written
 * down in orchestrator/pgmq/pgmq-1.5.1-surface.ts is really pgmq's (so the compatible layer's test
 * compares with the truth); tasker-core's function shapes on top of it; the notify wrappers and
 * queue-created trigger; and tasks of every template completing through orchestration and workers.
 */
import { afterAll, describe, expect, it } from 'vitest'
import pg from 'pg'
import { preparePgmqFromSource, type PgmqFromSource } from '../harness/main/postgres/pgmq-from-source.ts'
import { applyMigrations, readFunctionShape, TASKER_CORE_FUNCTIONS } from '../orchestrator/index.ts'
import { createTask, errorLines, stepResults, taskBody, useOrchestrator, waitForTasks } from './support/orchestrator.ts'
import { expectPgmq151Surface } from './support/pgmq-surface.ts'

const SOURCE = process.env.PGMQ_SOURCE_DIR

describe.skipIf(!SOURCE)('on the real pgmq extension (PGMQ_SOURCE_DIR; skipped without it: CI has no pgmq checkout)', () => {
  let extension: PgmqFromSource | undefined
  const o = useOrchestrator({
    workers: 2,
    postgresSettings: () => {
      extension = preparePgmqFromSource(SOURCE!)
      return extension.settings
    },
  })
  afterAll(() => extension?.remove())

  it('the orchestrator migrated onto the extension, not the compatible layer', async () => {
    const client = await o.db.pool.connect()
    try {
      // Already migrated by the orchestrator: nothing left to apply, and pgmq is the extension.
      const { applied, pgmq } = await applyMigrations(client)
      expect(applied).toEqual([])
      expect(pgmq).toEqual({ kind: 'extension', version: extension!.version })
    } finally {
      client.release()
    }
    const compat = await o.db.pool.query(`SELECT to_regprocedure('pgmq.compat_version()') AS f`)
    expect(compat.rows[0].f).toBeNull()
  })

  it('pgmq 1.5.1 has the surface orchestrator/pgmq/pgmq-1.5.1-surface.ts writes down', async () => {
    await expectPgmq151Surface(o.db.pool, 'orchestration_step_results')
  })

  it("tasker-core's function shapes hold on top of it", async () => {
    for (const want of TASKER_CORE_FUNCTIONS) {
      expect(await readFunctionShape(o.db.pool, want.signature), want.signature).toEqual({ arguments: want.arguments, result: want.result })
    }
  })

  it('tasker.pgmq_send_with_notify / _batch_ send through pgmq.send and announce; new queues are announced', async () => {
    const listener = new pg.Client({ connectionString: o.db.server.url })
    const received: { channel: string; body: Record<string, unknown> }[] = []
    listener.on('notification', (n) => received.push({ channel: n.channel, body: JSON.parse(n.payload ?? '{}') }))
    await listener.connect()
    try {
      for (const ch of ['pgmq_message_ready.ext', 'pgmq_queue_created']) await listener.query(`LISTEN ${listener.escapeIdentifier(ch)}`)
      await o.db.pool.query(`SELECT pgmq.create('worker_ext_queue')`)
      const one = await o.db.pool.query<{ id: string }>(`SELECT tasker.pgmq_send_with_notify('worker_ext_queue', '{"n":1}'::jsonb) AS id`)
      const batch = await o.db.pool.query<{ id: string }>(`SELECT id FROM tasker.pgmq_send_batch_with_notify('worker_ext_queue', ARRAY['{"n":2}', '{"n":3}']::jsonb[]) AS id`)
      const deadline = Date.now() + 10_000
      while (received.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
      expect(received).toEqual([
        { channel: 'pgmq_queue_created', body: expect.objectContaining({ event_type: 'queue_created', queue_name: 'worker_ext_queue', namespace: 'ext' }) },
        { channel: 'pgmq_message_ready.ext', body: expect.objectContaining({ event_type: 'message_with_payload', msg_id: Number(one.rows[0]!.id), message: { n: 1 } }) },
        { channel: 'pgmq_message_ready.ext', body: expect.objectContaining({ event_type: 'batch_ready', msg_ids: batch.rows.map((r) => Number(r.id)), message_count: 2 }) },
      ])
      const read = await o.db.pool.query(`SELECT message FROM pgmq.read('worker_ext_queue', 30, 10)`)
      expect(read.rows.map((r) => r.message)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }])
    } finally {
      await listener.end()
    }
  })

  it.each(['linear', 'diamond', 'tree', 'mixed'] as const)('a %s task completes through orchestration and workers', async (template) => {
    const id = await createTask(o.url, taskBody(template, { even_number: 8 }))
    await waitForTasks(o.db, [id], ['complete'], 90_000)
    const results = await stepResults(o.db, id)
    expect(Object.values(results).every((r) => typeof r.result === 'number')).toBe(true)
    // Every step's message went through the extension's queue table and was archived there.
    const { rows } = await o.db.pool.query<{ ns: string; steps: number }>(
      `SELECT ns.name AS ns, (SELECT count(*)::int FROM tasker.workflow_steps ws WHERE ws.task_uuid = t.task_uuid) AS steps
       FROM tasker.tasks t JOIN tasker.named_tasks nt USING (named_task_uuid) JOIN tasker.task_namespaces ns USING (task_namespace_uuid)
       WHERE t.task_uuid = $1`,
      [id],
    )
    const archived = await o.db.pool.query<{ n: number }>(
      `SELECT count(DISTINCT message->>'step_uuid')::int AS n FROM pgmq.${pg.escapeIdentifier(`a_worker_${rows[0]!.ns}_queue`)} WHERE message->>'task_uuid' = $1`,
      [id],
    )
    expect(archived.rows[0]!.n).toBe(rows[0]!.steps)
  }, 120_000)

  it('the orchestrator logged no errors', () => {
    expect(errorLines(o.orchestrator.logDir)).toEqual([])
  })
})
