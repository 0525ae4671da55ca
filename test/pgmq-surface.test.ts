/**
 * The pgmq-compatible layer has pgmq 1.5.1's surface: every function of
 * orchestrator/pgmq/pgmq-1.5.1-surface.ts (written down from pgmq's sources, with line numbers) with
 * the same identity arguments, defaults and result type; pgmq.meta, the result types and a
 * queue's q_/a_ tables with the same columns in the same order. And a database that has the
 * layer's earlier version (1.0.0: other meta column order, a defaulted delay on send) is brought
 * to that surface, keeping its queues and the triggers on pgmq.meta.
 */
import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import pg from 'pg'
import { COMPATIBLE_SQL_PATH, installPgmq } from '../orchestrator/index.ts'
import { expectPgmq151Surface } from './support/pgmq-surface.ts'
import { usePostgres } from './support/postgres.ts'

const db = usePostgres(async (pool) => {
  const client = await pool.connect()
  try {
    await installPgmq(client)
    await client.query(`SELECT pgmq.create('Surface_Check')`)
  } finally {
    client.release()
  }
})

describe('the pgmq-compatible layer has pgmq 1.5.1\'s surface', () => {
  it('functions, result types, pgmq.meta and the queue tables', async () => {
    await expectPgmq151Surface(db.pool, 'surface_check')
  })

  it('stores queue names as given, with tables named in lower case', async () => {
    const { rows } = await db.pool.query(`SELECT queue_name FROM pgmq.list_queues() WHERE lower(queue_name) = 'surface_check'`)
    expect(rows).toEqual([{ queue_name: 'Surface_Check' }])
    const metrics = await db.pool.query(`SELECT queue_name FROM pgmq.metrics('Surface_Check')`)
    expect(metrics.rows).toEqual([{ queue_name: 'Surface_Check' }])
  })

  it('upgrades a database with the layer\'s version 1.0.0 in place, keeping queues and meta triggers', async () => {
    await db.pool.query('CREATE DATABASE compat_upgrade')
    const url = new URL(db.server.url)
    url.pathname = '/compat_upgrade'
    const client = new pg.Client({ connectionString: url.toString() })
    await client.connect()
    try {
      // What version 1.0.0 left behind, in the parts that differ from pgmq 1.5.1.
      await client.query(`
        CREATE SCHEMA pgmq;
        CREATE TABLE pgmq.meta (queue_name text PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now(),
                                is_partitioned boolean NOT NULL DEFAULT false, is_unlogged boolean NOT NULL DEFAULT false);
        CREATE TYPE pgmq.queue_record AS (queue_name text, created_at timestamptz, is_partitioned boolean, is_unlogged boolean);
        CREATE TYPE pgmq.message_record AS (msg_id bigint, read_ct integer, enqueued_at timestamptz, vt timestamptz, message jsonb, headers jsonb);
        CREATE FUNCTION pgmq.list_queues() RETURNS SETOF pgmq.queue_record LANGUAGE sql AS 'SELECT queue_name, created_at, is_partitioned, is_unlogged FROM pgmq.meta';
        CREATE FUNCTION pgmq.send(queue_name text, msg jsonb, delay integer DEFAULT 0) RETURNS SETOF bigint LANGUAGE sql AS 'SELECT 1::bigint';
        CREATE FUNCTION pgmq.read(queue_name text, vt integer, qty integer) RETURNS SETOF pgmq.message_record LANGUAGE sql AS 'SELECT NULL::pgmq.message_record';
        CREATE FUNCTION pgmq.compat_version() RETURNS text LANGUAGE sql AS $$ SELECT 'tasker-bench-pgmq-compatible 1.0.0' $$;
        CREATE TABLE pgmq.q_kept (msg_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, read_ct integer NOT NULL DEFAULT 0,
                                  enqueued_at timestamptz NOT NULL DEFAULT now(), vt timestamptz NOT NULL, message jsonb, headers jsonb);
        CREATE TABLE pgmq.a_kept (msg_id bigint PRIMARY KEY, read_ct integer NOT NULL DEFAULT 0, enqueued_at timestamptz NOT NULL DEFAULT now(),
                                  archived_at timestamptz NOT NULL DEFAULT now(), vt timestamptz NOT NULL, message jsonb, headers jsonb);
        INSERT INTO pgmq.meta (queue_name) VALUES ('kept');
        INSERT INTO pgmq.q_kept (vt, message) VALUES (now(), '{"kept":true}');
        CREATE TABLE public.announced (queue_name text);
        CREATE FUNCTION public.announce() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN INSERT INTO public.announced VALUES (NEW.queue_name); RETURN NULL; END';
        CREATE TRIGGER announce AFTER INSERT ON pgmq.meta FOR EACH ROW EXECUTE FUNCTION public.announce();
      `)
      expect(await installPgmq(client)).toMatchObject({ kind: 'compatible', version: 'tasker-bench-pgmq-compatible 1.1.0' })
      await expectPgmq151Surface(client, 'kept')
      expect((await client.query(`SELECT queue_name, is_partitioned FROM pgmq.list_queues()`)).rows).toEqual([{ queue_name: 'kept', is_partitioned: false }])
      expect((await client.query(`SELECT message FROM pgmq.read('kept', 30, 1)`)).rows).toEqual([{ message: { kept: true } }])
      await client.query(`SELECT pgmq.create('after_upgrade')`)
      expect((await client.query('SELECT queue_name FROM public.announced')).rows).toEqual([{ queue_name: 'after_upgrade' }])
      // Applying the file again changes nothing.
      await client.query(await readFile(COMPATIBLE_SQL_PATH, 'utf8'))
      await expectPgmq151Surface(client, 'kept')
    } finally {
      await client.end()
    }
  })
})
