/**
 * The pgmq-compatible layer against a real PostgreSQL (the embedded server has no pgmq
 * extension, so installPgmq() applies orchestrator/pgmq/pgmq-compatible.sql here).
 */
import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import pg from 'pg'
import path from 'node:path'
import { detectPgmq, installPgmq, migrationsDir } from '../orchestrator/index.ts'
import { usePostgres } from './support/postgres.ts'

const NOTIFY_MIGRATION = path.join(migrationsDir, '0004_tasker_pgmq_notify.sql')

interface MessageRow {
  msg_id: string
  read_ct: number
  enqueued_at: Date
  vt: Date
  message: unknown
  headers: unknown
}

const db = usePostgres(async (pool) => {
  // At teardown the server can stop before the pool's idle connections have closed; pg.Pool
  // re-emits their shutdown error as an 'error' event, which must not become an uncaught error.
  pool.on('error', () => {})
  const client = await pool.connect()
  try {
    await installPgmq(client)
    await client.query(await readFile(NOTIFY_MIGRATION, 'utf8'))
  } finally {
    client.release()
  }
})

let queueCounter = 0
/** A fresh queue per test, so tests do not see each other's messages. */
async function freshQueue(prefix = 'q'): Promise<string> {
  const name = `${prefix}_${process.pid}_${++queueCounter}`
  await db.pool.query('SELECT pgmq.create($1)', [name])
  return name
}

async function send(queue: string, message: unknown, delay = 0): Promise<string> {
  const { rows } = await db.pool.query<{ id: string }>('SELECT id FROM pgmq.send($1, $2::jsonb, $3::int) AS id', [queue, JSON.stringify(message), delay])
  return rows[0]!.id
}

async function read(queue: string, vt: number, qty: number, client: pg.ClientBase | pg.Pool = db.pool): Promise<MessageRow[]> {
  const { rows } = await client.query<MessageRow>('SELECT * FROM pgmq.read($1, $2, $3)', [queue, vt, qty])
  return rows
}

async function countRows(table: string): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pgmq.${pg.escapeIdentifier(table)}`)
  return rows[0]!.n
}

describe('installPgmq / detectPgmq', () => {
  it('installs the compatible layer once and reports it', async () => {
    const client = await db.pool.connect()
    try {
      const first = await detectPgmq(client)
      expect(first).toEqual({ kind: 'compatible', version: expect.stringMatching(/^tasker-bench-pgmq-compatible \d+\.\d+\.\d+$/) })
      expect(await installPgmq(client)).toEqual(first)
      expect(await installPgmq(client)).toEqual(first)
    } finally {
      client.release()
    }
  })

  it('is safe when several connections install at once, on a database without pgmq', async () => {
    await db.pool.query('CREATE DATABASE concurrent_install')
    const url = new URL(db.server.url)
    url.pathname = '/concurrent_install'
    const clients = Array.from({ length: 4 }, () => new pg.Client({ connectionString: url.toString() }))
    try {
      await Promise.all(clients.map((c) => c.connect()))
      expect(await detectPgmq(clients[0]!)).toBeUndefined()
      const results = await Promise.all(clients.map((c) => installPgmq(c)))
      for (const info of results) expect(info.kind).toBe('compatible')
      expect(new Set(results.map((r) => r.version)).size).toBe(1)
      expect(await detectPgmq(clients[1]!)).toEqual(results[0])
      // The installation is usable from another session.
      await clients[2]!.query(`SELECT pgmq.create('after_install')`)
      const { rows } = await clients[3]!.query(`SELECT * FROM pgmq.send('after_install', '{"ok":true}')`)
      expect(rows).toHaveLength(1)

      // A layer from another version of this checkout is re-applied in place, keeping queues.
      await clients[0]!.query(`CREATE OR REPLACE FUNCTION pgmq.compat_version() RETURNS text LANGUAGE sql AS $$ SELECT 'tasker-bench-pgmq-compatible 0.0.1' $$`)
      expect(await installPgmq(clients[0]!)).toEqual(results[0])
      const kept = await clients[0]!.query(`SELECT count(*)::int AS n FROM pgmq.q_after_install`)
      expect(kept.rows[0].n).toBe(1)

      // A newer layer (from a newer checkout or image) is left alone: this file's older functions
      // would not fit its tables and types.
      await clients[0]!.query(`CREATE OR REPLACE FUNCTION pgmq.compat_version() RETURNS text LANGUAGE sql AS $$ SELECT 'tasker-bench-pgmq-compatible 1.10.0' $$`)
      await clients[0]!.query(`CREATE OR REPLACE FUNCTION pgmq.list_queues() RETURNS SETOF pgmq.queue_record LANGUAGE sql AS $$ SELECT NULL::pgmq.queue_record WHERE false $$`)
      expect(await installPgmq(clients[0]!)).toEqual({ kind: 'compatible', version: 'tasker-bench-pgmq-compatible 1.10.0' })
      expect((await clients[0]!.query('SELECT * FROM pgmq.list_queues()')).rows).toEqual([])
    } finally {
      await Promise.all(clients.map((c) => c.end().catch(() => {})))
    }
  })

  it('detectPgmq does not write: the database stays without pgmq', async () => {
    await db.pool.query('CREATE DATABASE detect_only')
    const url = new URL(db.server.url)
    url.pathname = '/detect_only'
    const client = new pg.Client({ connectionString: url.toString() })
    await client.connect()
    try {
      expect(await detectPgmq(client)).toBeUndefined()
      const { rows } = await client.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'pgmq'`)
      expect(rows).toHaveLength(0)
    } finally {
      await client.end()
    }
  })
})

describe('queues', () => {
  it('create makes q_ and a_ tables, registers the queue, and is idempotent', async () => {
    const queue = await freshQueue()
    await db.pool.query('SELECT pgmq.create($1)', [queue])
    expect(await countRows(`q_${queue}`)).toBe(0)
    expect(await countRows(`a_${queue}`)).toBe(0)
    const { rows } = await db.pool.query(`SELECT * FROM pgmq.list_queues() WHERE queue_name = $1`, [queue])
    expect(rows).toEqual([{ queue_name: queue, created_at: expect.any(Date), is_partitioned: false, is_unlogged: false }])
  })

  it('folds upper case to lower case, like pgmq', async () => {
    await db.pool.query(`SELECT pgmq.create('Mixed_Case_Queue')`)
    const id = await send('MIXED_case_queue', { n: 1 })
    const rows = await read('mixed_case_queue', 30, 1)
    expect(rows.map((r) => r.msg_id)).toEqual([id])
  })

  it.each([
    ['bad-name', /contains characters other than a-z, 0-9 and _/],
    ['semi;colon', /contains characters other than a-z, 0-9 and _/],
    ['with space', /contains characters other than a-z, 0-9 and _/],
    ['"quoted"', /contains characters other than a-z, 0-9 and _/],
    ['a'.repeat(48), /is 48 characters long; the maximum is 47/],
    ['', /queue name is empty or null/],
  ])('rejects the queue name %j with a clear message', async (name, message) => {
    await expect(db.pool.query('SELECT pgmq.create($1)', [name])).rejects.toThrow(message)
    await expect(db.pool.query(`SELECT pgmq.send($1, '{}')`, [name])).rejects.toThrow(message)
    const err = await db.pool.query('SELECT pgmq.create($1)', [name]).catch((e: unknown) => e as pg.DatabaseError)
    expect(err).toMatchObject({ code: '22023' }) // invalid_parameter_value
  })

  it('accepts a 47-character name (the longest whose tables and indexes fit)', async () => {
    const name = 'n'.repeat(47)
    await db.pool.query('SELECT pgmq.create($1)', [name])
    const id = await send(name, { long: true })
    await db.pool.query('SELECT pgmq.archive($1, $2::bigint)', [name, id])
    expect(await countRows(`a_${name}`)).toBe(1)
    expect((await db.pool.query('SELECT pgmq.drop_queue($1) AS dropped', [name])).rows[0].dropped).toBe(true)
  })

  it('purge_queue deletes every message and returns the count', async () => {
    const queue = await freshQueue()
    for (let i = 0; i < 3; i++) await send(queue, { i })
    const { rows } = await db.pool.query<{ n: string }>('SELECT pgmq.purge_queue($1) AS n', [queue])
    expect(rows[0]!.n).toBe('3')
    expect(await countRows(`q_${queue}`)).toBe(0)
  })

  it('drop_queue removes the tables and the registration; an unknown queue raises, as pgmq does', async () => {
    const queue = await freshQueue()
    await send(queue, {})
    const dropped = await db.pool.query('SELECT pgmq.drop_queue($1) AS d', [queue])
    expect(dropped.rows[0].d).toBe(true)
    const tables = await db.pool.query(`SELECT to_regclass($1) AS q, to_regclass($2) AS a`, [`pgmq.q_${queue}`, `pgmq.a_${queue}`])
    expect(tables.rows[0]).toEqual({ q: null, a: null })
    const listed = await db.pool.query('SELECT 1 FROM pgmq.list_queues() WHERE queue_name = $1', [queue])
    expect(listed.rows).toHaveLength(0)
    const again = await db.pool.query('SELECT pgmq.drop_queue($1) AS d', [queue]).catch((e: unknown) => e as pg.DatabaseError)
    expect(again).toMatchObject({ code: '42P01', message: `relation "pgmq.q_${queue}" does not exist` })
  })

  it('list_queues lists every created queue', async () => {
    const a = await freshQueue('list')
    const b = await freshQueue('list')
    const { rows } = await db.pool.query<{ queue_name: string }>('SELECT queue_name FROM pgmq.list_queues()')
    expect(rows.map((r) => r.queue_name)).toEqual(expect.arrayContaining([a, b]))
  })

  it('sending to a queue that does not exist fails and names the table', async () => {
    await expect(send('never_created', {})).rejects.toThrow(/pgmq\.q_never_created/)
  })
})

describe('messages', () => {
  it('send then read returns the message with read_ct 1 and a future vt', async () => {
    const queue = await freshQueue()
    const id = await send(queue, { hello: 'world' })
    const rows = await read(queue, 30, 10)
    expect(rows).toEqual([
      { msg_id: id, read_ct: 1, enqueued_at: expect.any(Date), vt: expect.any(Date), message: { hello: 'world' }, headers: null },
    ])
    expect(rows[0]!.vt.getTime() - rows[0]!.enqueued_at.getTime()).toBeGreaterThanOrEqual(29_000)
  })

  it('a read message stays invisible until its visibility timeout passes, then read_ct counts again', async () => {
    const queue = await freshQueue()
    const held = await send(queue, { lease: 'long' })
    const short = await send(queue, { lease: 'short' })

    const [first] = await read(queue, 30, 1)
    expect(first!.msg_id).toBe(held)
    const [second] = await read(queue, 1, 1)
    expect(second!.msg_id).toBe(short)
    expect(second!.read_ct).toBe(1)

    // Polled, not slept: the short lease ends after ~1 s however busy the machine is; the 30 s
    // lease must still hold then.
    let again: MessageRow[] = []
    const deadline = Date.now() + 15_000
    while (again.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250))
      again = await read(queue, 30, 10)
    }
    expect(again.map((r) => r.msg_id)).toEqual([short])
    expect(again[0]!.read_ct).toBe(2)
    // Read no earlier than the old vt: the new vt is 30 s after the moment of that read.
    expect(again[0]!.vt.getTime() - 30_000).toBeGreaterThanOrEqual(second!.vt.getTime())
  })

  it('a delayed message is not readable before its delay', async () => {
    const queue = await freshQueue()
    await send(queue, { later: true }, 60)
    const now = await send(queue, { now: true })
    expect((await read(queue, 30, 10)).map((r) => r.msg_id)).toEqual([now])
  })

  it('concurrent readers get different messages (FOR UPDATE SKIP LOCKED)', async () => {
    const queue = await freshQueue()
    const ids = [await send(queue, { n: 1 }), await send(queue, { n: 2 })]
    const a = await db.pool.connect()
    const b = await db.pool.connect()
    try {
      await a.query('BEGIN')
      await b.query('BEGIN')
      const fromA = await read(queue, 30, 1, a)
      // A still holds its row lock; B must skip it instead of waiting (lock_timeout turns a
      // wait into a failure rather than a hang).
      await b.query(`SET LOCAL lock_timeout = '5s'`)
      const fromB = await read(queue, 30, 1, b)
      expect(fromA.map((r) => r.msg_id)).toEqual([ids[0]])
      expect(fromB.map((r) => r.msg_id)).toEqual([ids[1]])
      await a.query('COMMIT')
      await b.query('COMMIT')
    } finally {
      a.release()
      b.release()
    }
    expect(await read(queue, 30, 10)).toEqual([])
  })

  it('a reader whose transaction rolls back leaves the message visible', async () => {
    const queue = await freshQueue()
    const id = await send(queue, {})
    const client = await db.pool.connect()
    try {
      await client.query('BEGIN')
      expect((await read(queue, 30, 1, client)).map((r) => r.msg_id)).toEqual([id])
      await client.query('ROLLBACK')
    } finally {
      client.release()
    }
    const rows = await read(queue, 30, 1)
    expect(rows.map((r) => [r.msg_id, r.read_ct])).toEqual([[id, 1]])
  })

  it('send_batch returns ids in message order and read takes the oldest qty', async () => {
    const queue = await freshQueue()
    const { rows } = await db.pool.query<{ id: string }>('SELECT id FROM pgmq.send_batch($1, $2::jsonb[]) AS id', [
      queue,
      [{ n: 1 }, { n: 2 }, { n: 3 }].map((m) => JSON.stringify(m)),
    ])
    const ids = rows.map((r) => r.id)
    expect(ids.map(Number)).toEqual([...ids.map(Number)].sort((x, y) => x - y))
    expect(new Set(ids).size).toBe(3)

    const firstTwo = await read(queue, 30, 2)
    expect(firstTwo.map((r) => [r.msg_id, r.message])).toEqual([
      [ids[0], { n: 1 }],
      [ids[1], { n: 2 }],
    ])
    const rest = await read(queue, 30, 5)
    expect(rest.map((r) => r.msg_id)).toEqual([ids[2]])
  })

  it('send_batch with a delay hides the whole batch', async () => {
    const queue = await freshQueue()
    await db.pool.query(`SELECT pgmq.send_batch($1, ARRAY['{}', '{}']::jsonb[], 60)`, [queue])
    expect(await read(queue, 30, 10)).toEqual([])
    expect(await countRows(`q_${queue}`)).toBe(2)
  })

  it('delete removes one message or a list, reporting what it removed', async () => {
    const queue = await freshQueue()
    const [a, b, c] = [await send(queue, {}), await send(queue, {}), await send(queue, {})]
    const one = await db.pool.query('SELECT pgmq.delete($1, $2::bigint) AS deleted', [queue, a])
    expect(one.rows[0].deleted).toBe(true)
    const missing = await db.pool.query('SELECT pgmq.delete($1, $2::bigint) AS deleted', [queue, a])
    expect(missing.rows[0].deleted).toBe(false)
    const many = await db.pool.query<{ id: string }>('SELECT id FROM pgmq.delete($1, $2::bigint[]) AS id', [queue, [b, c, a]])
    expect(many.rows.map((r) => r.id).sort()).toEqual([b, c].sort())
    expect(await countRows(`q_${queue}`)).toBe(0)
  })

  it('archive moves the row to a_<queue> with its read count and an archived_at', async () => {
    const queue = await freshQueue()
    const id = await send(queue, { keep: 'me' })
    await read(queue, 30, 1)
    const moved = await db.pool.query('SELECT pgmq.archive($1, $2::bigint) AS archived', [queue, id])
    expect(moved.rows[0].archived).toBe(true)
    expect(await countRows(`q_${queue}`)).toBe(0)
    const { rows } = await db.pool.query(`SELECT * FROM pgmq.${pg.escapeIdentifier(`a_${queue}`)}`)
    expect(rows).toEqual([
      { msg_id: id, read_ct: 1, enqueued_at: expect.any(Date), archived_at: expect.any(Date), vt: expect.any(Date), message: { keep: 'me' }, headers: null },
    ])
    const again = await db.pool.query('SELECT pgmq.archive($1, $2::bigint) AS archived', [queue, id])
    expect(again.rows[0].archived).toBe(false)
  })

  it('archive of a list moves exactly the messages that exist', async () => {
    const queue = await freshQueue()
    const [a, b, c] = [await send(queue, {}), await send(queue, {}), await send(queue, {})]
    const { rows } = await db.pool.query<{ id: string }>('SELECT id FROM pgmq.archive($1, $2::bigint[]) AS id', [queue, [a, b, '999999']])
    expect(rows.map((r) => r.id).sort()).toEqual([a, b].sort())
    expect(await countRows(`a_${queue}`)).toBe(2)
    expect((await read(queue, 30, 10)).map((r) => r.msg_id)).toEqual([c])
  })

  it('set_vt moves the visibility time relative to now', async () => {
    const queue = await freshQueue()
    const id = await send(queue, { v: 1 })
    await read(queue, 30, 1)
    expect(await read(queue, 30, 1)).toEqual([])

    const released = await db.pool.query<MessageRow>('SELECT * FROM pgmq.set_vt($1, $2::bigint, 0)', [queue, id])
    expect(released.rows.map((r) => [r.msg_id, r.read_ct])).toEqual([[id, 1]])
    const reread = await read(queue, 30, 1)
    expect(reread.map((r) => [r.msg_id, r.read_ct])).toEqual([[id, 2]])

    const extended = await db.pool.query<MessageRow>('SELECT * FROM pgmq.set_vt($1, $2::bigint, 3600)', [queue, id])
    expect(extended.rows[0]!.vt.getTime() - Date.now()).toBeGreaterThan(3000_000)
    const none = await db.pool.query('SELECT * FROM pgmq.set_vt($1, $2::bigint, 10)', [queue, '999999'])
    expect(none.rows).toEqual([])
  })

  it('pop returns the oldest visible message and deletes it', async () => {
    const queue = await freshQueue()
    const first = await send(queue, { n: 1 })
    const second = await send(queue, { n: 2 })
    const popped = await db.pool.query<MessageRow>('SELECT * FROM pgmq.pop($1)', [queue])
    expect(popped.rows.map((r) => [r.msg_id, r.message])).toEqual([[first, { n: 1 }]])
    expect((await read(queue, 30, 10)).map((r) => r.msg_id)).toEqual([second])
    // second is now invisible: nothing to pop.
    expect((await db.pool.query('SELECT * FROM pgmq.pop($1)', [queue])).rows).toEqual([])
    expect(await countRows(`q_${queue}`)).toBe(1)
  })
})

describe('metrics', () => {
  it('counts queued, visible and ever-sent messages', async () => {
    const queue = await freshQueue()
    const ids = []
    for (let i = 0; i < 4; i++) ids.push(await send(queue, { i }))
    await read(queue, 30, 1) // one in flight
    await db.pool.query('SELECT pgmq.delete($1, $2::bigint)', [queue, ids[3]])

    const { rows } = await db.pool.query('SELECT * FROM pgmq.metrics($1)', [queue])
    expect(rows[0]).toEqual({
      queue_name: queue,
      queue_length: '3',
      queue_visible_length: '2',
      total_messages: '4',
      newest_msg_age_sec: expect.any(Number),
      oldest_msg_age_sec: expect.any(Number),
      scrape_time: expect.any(Date),
    })
    expect(rows[0].oldest_msg_age_sec).toBeGreaterThanOrEqual(rows[0].newest_msg_age_sec)
  })

  it('an empty, never-used queue has zero counts and no ages', async () => {
    const queue = await freshQueue()
    const { rows } = await db.pool.query('SELECT * FROM pgmq.metrics($1)', [queue])
    expect(rows[0]).toMatchObject({ queue_length: '0', queue_visible_length: '0', total_messages: '0', newest_msg_age_sec: null, oldest_msg_age_sec: null })
  })

  it('metrics_all has one row per registered queue', async () => {
    const queue = await freshQueue()
    await send(queue, {})
    const all = await db.pool.query<{ queue_name: string; queue_length: string }>('SELECT * FROM pgmq.metrics_all()')
    const listed = await db.pool.query<{ queue_name: string }>('SELECT queue_name FROM pgmq.list_queues()')
    expect(all.rows.map((r) => r.queue_name).sort()).toEqual(listed.rows.map((r) => r.queue_name).sort())
    expect(all.rows.find((r) => r.queue_name === queue)?.queue_length).toBe('1')
  })
})
