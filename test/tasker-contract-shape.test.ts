/**
 * The reference orchestrator declares the tasker-core functions the suite calls with
 * tasker-core's names, argument names, types and defaults, and result columns in the same order
 * and types (orchestrator/tasker-core-surface.ts, written down from tasker-core's
 * migrations with their lines) and every column of its tables, has no public copies of the notify wrappers, and announces queue
 * creation from tasker-core's trigger. A database migrated by an earlier version (the wrappers in
 * schema public, the contract functions with other argument names) is upgraded in place.
 */
import { describe, expect, it } from 'vitest'
import pg from 'pg'
import { applyMigrations, installPgmq, QUEUE_CREATED_TRIGGER, readFunctionShape, TASKER_CORE_COLUMNS, TASKER_CORE_FUNCTIONS } from '../orchestrator/index.ts'
import { migrateTasker, usePostgres } from './support/postgres.ts'

async function expectTaskerCoreShapes(client: pg.ClientBase | pg.Pool): Promise<void> {
  for (const want of TASKER_CORE_FUNCTIONS) {
    expect(await readFunctionShape(client, want.signature), `${want.signature} (tasker-core ${want.source})`).toEqual({ arguments: want.arguments, result: want.result })
  }
  const { rows } = await client.query(
    `SELECT tg.tgname AS name, tg.tgfoid::regproc::text AS function
     FROM pg_trigger tg WHERE tg.tgrelid = 'pgmq.meta'::regclass AND NOT tg.tgisinternal`,
  )
  expect(rows).toEqual([{ name: QUEUE_CREATED_TRIGGER.name, function: QUEUE_CREATED_TRIGGER.function }])
  const publicCopies = await client.query(
    `SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace AND (proname LIKE 'pgmq%' OR proname = 'extract_queue_namespace')`,
  )
  expect(publicCopies.rows).toEqual([])
}

describe("the reference orchestrator's schema has tasker-core's function shapes", () => {
  const db = usePostgres(migrateTasker)

  it('contract functions, notify wrappers and the queue-created trigger', async () => {
    await expectTaskerCoreShapes(db.pool)
  })

  it("has every column of tasker-core's tables (names; the reference may have more)", async () => {
    for (const { table, source, columns } of TASKER_CORE_COLUMNS) {
      const { rows } = await db.pool.query<{ name: string }>(
        `SELECT attname AS name FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`,
        [table],
      )
      const present = new Set(rows.map((r) => r.name))
      expect(columns.filter((c) => !present.has(c)), `${table} (tasker-core ${source})`).toEqual([])
    }
  })

  it('upgrades a database migrated by the earlier migrations', async () => {
    await db.pool.query('CREATE DATABASE earlier_shapes')
    const url = new URL(db.server.url)
    url.pathname = '/earlier_shapes'
    const client = new pg.Client({ connectionString: url.toString() })
    await client.connect()
    try {
      await installPgmq(client)
      // What 0003_pgmq_notify.sql and the earlier 0002 left behind, in the parts that differ.
      await client.query(`
        CREATE SCHEMA tasker;
        CREATE FUNCTION public.extract_queue_namespace(queue_name text) RETURNS text LANGUAGE sql AS $$ SELECT 'x' $$;
        CREATE FUNCTION public.pgmq_send_with_notify(queue_name text, message jsonb, delay_seconds integer DEFAULT 0) RETURNS bigint LANGUAGE sql AS $$ SELECT 1::bigint $$;
        CREATE FUNCTION public.pgmq_send_batch_with_notify(queue_name text, messages jsonb[], delay_seconds integer DEFAULT 0) RETURNS SETOF bigint LANGUAGE sql AS $$ SELECT 1::bigint $$;
        CREATE FUNCTION public.pgmq_notify_message_ready(queue_name text, msg_id bigint, message jsonb, delay_seconds integer DEFAULT 0) RETURNS bigint LANGUAGE sql AS $$ SELECT 1::bigint $$;
        CREATE FUNCTION public.pgmq_notify_batch_ready(queue_name text, msg_ids bigint[], delay_seconds integer DEFAULT 0) RETURNS bigint[] LANGUAGE sql AS $$ SELECT '{}'::bigint[] $$;
        CREATE FUNCTION public.pgmq_create_with_notify(queue_name text) RETURNS void LANGUAGE sql AS $$ SELECT $$;
        CREATE FUNCTION public.pgmq_notify_queue_created() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
        CREATE TRIGGER pgmq_queue_created_notify AFTER INSERT ON pgmq.meta FOR EACH ROW EXECUTE FUNCTION public.pgmq_notify_queue_created();
        CREATE FUNCTION tasker.get_task_execution_context(task_uuid uuid) RETURNS TABLE (task_uuid uuid) LANGUAGE sql AS $$ SELECT $1 $$;
        CREATE FUNCTION tasker.get_step_transitive_dependencies(step_uuid uuid) RETURNS TABLE (step_name text, current_state text) LANGUAGE sql AS $$ SELECT 'a', 'b' $$;
      `)
      await applyMigrations(client)
      await expectTaskerCoreShapes(client)
    } finally {
      await client.end()
    }
  })
})
