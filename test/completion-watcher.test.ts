/**
 * The event completion watcher on a real PostgreSQL: a payload on its channel that is not the
 * trigger's JSON is ignored and counted (it used to throw inside the listener and crash the bench
 * worker), and completions of tasks nobody waits for are held only up to a bound.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createTaskerClient, type TaskerClient } from '../harness/tasker/api-client.ts'
import { ArrivalBuffer, parseTaskFinished } from '../harness/tasker/completion-arrivals.ts'
import { createEventWatcher, type CompletionWatcher } from '../harness/tasker/completion.ts'
import { migrateTasker, usePostgres } from './support/postgres.ts'

const CHANNEL = 'tasker_bench_task_finished'

describe('event completion watcher', () => {
  const db = usePostgres(migrateTasker)
  let api: TaskerClient
  let watcher: CompletionWatcher

  beforeAll(async () => {
    // Only read to describe a failed task; these tests never get there.
    api = createTaskerClient('http://127.0.0.1:9')
    watcher = await createEventWatcher(db.server.url, api, { maxEntries: 100 })
  })
  afterAll(async () => {
    await watcher?.close()
    await api?.close()
  })

  const notify = (payload: string) => db.pool.query('SELECT pg_notify($1, $2)', [CHANNEL, payload])
  const finished = (taskUuid: string, state = 'complete') => JSON.stringify({ task_uuid: taskUuid, state })

  test('malformed payloads are ignored and counted; the next good one still arrives', async () => {
    const before = watcher.stats().malformedPayloads
    for (const bad of ['not json', '{"task_uuid": 42}', '[]', 'null', '{"state":"complete"}']) await notify(bad)
    const id = crypto.randomUUID()
    const arrival = watcher.wait(id, 30_000)
    await notify(finished(id))
    await expect(arrival).resolves.toMatchObject({ state: 'complete' })
    expect(watcher.stats().malformedPayloads - before).toBe(5)
  })

  test('completions nobody waits for are held up to the bound, the oldest dropped', async () => {
    const others = Array.from({ length: 500 }, () => crypto.randomUUID())
    await db.pool.query(`SELECT pg_notify($1, json_build_object('task_uuid', id, 'state', 'complete')::text) FROM unnest($2::text[]) AS id`, [CHANNEL, others])
    // Sent after the 500 in another transaction: once it is seen, so were they.
    const sentinel = crypto.randomUUID()
    const arrival = watcher.wait(sentinel, 30_000)
    await notify(finished(sentinel))
    await arrival
    const stats = watcher.stats()
    expect(stats.buffered).toBe(100)
    expect(stats.droppedArrivals).toBe(400)
    // The newest are the ones kept: a late waiter for one of them still gets it at once.
    await expect(watcher.wait(others.at(-1)!, 1_000)).resolves.toMatchObject({ state: 'complete' })
  })
})

describe('completion payloads and the arrival buffer', () => {
  test('parseTaskFinished accepts the trigger payload only', () => {
    expect(parseTaskFinished('{"task_uuid":"a","state":"complete"}')).toEqual({ task_uuid: 'a', state: 'complete' })
    for (const bad of [undefined, '', 'x', '1', '"s"', '{}', '{"task_uuid":"a"}', '{"task_uuid":"","state":"complete"}']) expect(parseTaskFinished(bad)).toBeUndefined()
  })

  test('entries older than the age bound are dropped when a new one comes in', () => {
    const buffer = new ArrivalBuffer<{ at: number }>({ maxEntries: 10, maxAgeMs: 1_000 })
    buffer.put('old', { at: 0 })
    buffer.put('mid', { at: 600 })
    buffer.put('new', { at: 1_500 })
    expect(buffer.take('old')).toBeUndefined()
    expect(buffer.take('mid')).toEqual({ at: 600 })
    expect(buffer.size).toBe(1)
    expect(buffer.dropped).toBe(1)
  })
})
