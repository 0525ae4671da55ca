/**
 * Messages sent and archived in a window, from pgmq's own state (harness/bench/work/pgmq-messages.ts),
 * on a real server with the pgmq-compatible layer: sends by send and send_batch, to a queue created
 * inside the window too, count; a message sent before the window and archived in it counts as
 * archived only; a delete is not an archive. Its own statements are left out of the statement
 * counters by the alias they carry, and a role that may not read a queue's sequence gets the reason
 * instead of a figure.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { withDatabase, databaseName } from '../harness/db/database-url.ts'
import { openPgmqMessages, type PgmqMessages } from '../harness/bench/work/pgmq-messages.ts'
import { isSuiteOwnStatement } from '../harness/bench/work/statement-delta.ts'
import { installPgmq } from '../orchestrator/index.ts'
import { usePostgres } from './support/postgres.ts'

const LIMITS = { statementTimeoutMs: 30_000, lockTimeoutMs: 10_000, connectTimeoutMs: 5_000, statementVariable: 'BENCH_STATEMENT_TIMEOUT_MS' } as const

const db = usePostgres(async (pool) => {
  const client = await pool.connect()
  try {
    await installPgmq(client)
    await client.query(`SELECT pgmq.create('alpha'), pgmq.create('beta')`)
    await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements')
  } finally {
    client.release()
  }
})

const opened: PgmqMessages[] = []
afterAll(async () => {
  for (const m of opened) await m.close()
})

function open(url = db.server.url): PgmqMessages {
  const m = openPgmqMessages((name) => withDatabase(url, name), [databaseName(url)], LIMITS)
  opened.push(m)
  return m
}

const send = async (queue: string) => (await db.pool.query<{ id: string }>(`SELECT pgmq.send($1, '{}'::jsonb) AS id`, [queue])).rows[0]!.id

describe('pgmq messages of a window, from the queues themselves', () => {
  it('counts sends (single, batch, a queue created in the window) and archives; not deletes, not what came before', async () => {
    const before = [await send('alpha'), await send('alpha')]
    const m = open()
    const mark = await m.mark()
    const inside = [await send('alpha'), await send('alpha'), await send('alpha')]
    await db.pool.query(`SELECT pgmq.send_batch('beta', ARRAY['{}'::jsonb, '{}'::jsonb])`)
    await db.pool.query(`SELECT pgmq.create('gamma')`)
    await send('gamma')
    await db.pool.query(`SELECT pgmq.archive('alpha', ARRAY[$1::bigint, $2::bigint])`, [before[0], inside[0]])
    await db.pool.query(`SELECT pgmq.delete('alpha', $1::bigint)`, [before[1]])
    const counts = await m.since(mark)
    expect([...counts.values()]).toEqual([{ ok: true, sent: 6, archived: 2 }])
    // nothing between a mark and its reading: nothing counted
    expect([...(await m.since(await m.mark())).values()]).toEqual([{ ok: true, sent: 0, archived: 0 }])
  })

  it("its own statements are the suite's, not the system's, in pg_stat_statements", async () => {
    const { rows } = await db.pool.query<{ query: string }>(`SELECT query FROM pg_stat_statements WHERE query LIKE '%tasker_bench_work_meter%'`)
    expect(rows.length).toBeGreaterThanOrEqual(3)
    for (const r of rows) expect(isSuiteOwnStatement(r.query)).toBe(true)
  })

  it('a role that may not read the queues gets the reason, not a figure', async () => {
    await db.pool.query(`DROP ROLE IF EXISTS pgmq_outsider; CREATE ROLE pgmq_outsider LOGIN PASSWORD 'outsider'; GRANT USAGE ON SCHEMA pgmq TO pgmq_outsider`)
    const url = new URL(db.server.url)
    url.username = 'pgmq_outsider'
    url.password = 'outsider'
    const m = open(url.toString())
    const counts = [...(await m.since(await m.mark())).values()]
    expect(counts).toEqual([{ ok: false, why: expect.stringMatching(/^this role may not read "?pgmq"?\.\S+_msg_id_seq \(SELECT or USAGE on the sequence\)$/) }])
    // and it changed nothing: still no privilege
    const { rows } = await db.pool.query(`SELECT has_sequence_privilege('pgmq_outsider', 'pgmq.q_alpha_msg_id_seq', 'SELECT,USAGE') AS p`)
    expect(rows).toEqual([{ p: false }])
  })
})
