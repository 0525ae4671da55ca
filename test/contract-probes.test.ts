/**
 * The contract probes (harness/bench/probes) on real schemas: the reference orchestrator's passes
 * every one; on the tasker-core-shaped schema, whose get_next_ready_tasks locks as tasker-core's
 * does (FOR UPDATE SKIP LOCKED outside a WITH query: nothing locked), claim exclusivity fails.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import pg from 'pg'
import { applyMigrations } from '../orchestrator/index.ts'
import { seedDataset } from '../harness/bench/dataset/seed-dataset.ts'
import { probeClaimExclusivity } from '../harness/bench/probes/claim-exclusivity.ts'
import { probeNotifySizes } from '../harness/bench/probes/notify-sizes.ts'
import { probeReadinessRetry } from '../harness/bench/probes/readiness-retry.ts'
import { applyTaskerCoreShapedSchema } from './fixtures/tasker-core-shaped/apply.ts'
import { usePostgres } from './support/postgres.ts'

const db = usePostgres()

/** A fresh database prepared by `prepare` and seeded with 300 live tasks; its URL with tasker first on the search_path. */
async function seeded(name: string, prepare: (c: pg.Client) => Promise<unknown>): Promise<{ url: string; client: pg.Client }> {
  await db.pool.query(`CREATE DATABASE ${name}`)
  const u = new URL(db.server.url)
  u.pathname = `/${name}`
  u.searchParams.set('options', '-c search_path=tasker,public -c TimeZone=UTC')
  const client = new pg.Client({ connectionString: u.toString() })
  await client.connect()
  await prepare(client)
  await seedDataset(client, { seed: 'probe-claims', from: 0, count: 300, anchor: new Date(), live: true, part: 'live' })
  return { url: u.toString(), client }
}

describe('on the reference schema', () => {
  let ref: { url: string; client: pg.Client }
  beforeAll(async () => {
    ref = await seeded('probes_reference', (c) => applyMigrations(c))
  }, 180_000)
  afterAll(() => ref?.client.end())

  test('claim exclusivity passes: the second open transaction gets other tasks', async () => {
    const r = await probeClaimExclusivity(ref.url, 'tasker.get_next_ready_tasks', 5)
    expect(r.status, r.evidence.join('\n')).toBe('pass')
    expect(r.evidence[0]).toMatch(/A got 5 tasks, B got 5, none in common/)
  })

  test('notify payload sizes pass: inline below 7000 characters, a signal above, multi-byte text still sent', async () => {
    const r = await probeNotifySizes(ref.url, 'tasker.pgmq_send_with_notify')
    expect(r.status, r.evidence.join('\n')).toBe('pass')
    expect(r.evidence).toEqual([
      expect.stringMatching(/^6,999 characters: message inline, \d+-character notification$/),
      expect.stringMatching(/^7,001 characters: signal only, \d+-character notification$/),
      expect.stringMatching(/^7,801 characters: signal only, /),
      expect.stringMatching(/^4,509 characters of 2-byte text .*: signal only, /),
    ])
  })

  test('readiness honours backoff and retry limit, with every kind of step present', async () => {
    const r = await probeReadinessRetry(ref.client, 'tasker.get_step_readiness_status')
    expect(r.status, r.evidence.join('\n')).toBe('pass')
    for (const line of r.evidence) expect(line).toMatch(/^[1-9]\d* steps .*: 0 reported/)
  }, 120_000)
})

describe('on a schema that locks like tasker-core (FOR UPDATE outside a WITH query)', () => {
  let core: { url: string; client: pg.Client }
  beforeAll(async () => {
    core = await seeded('probes_core_shaped', applyTaskerCoreShapedSchema)
  }, 180_000)
  afterAll(() => core?.client.end())

  test('claim exclusivity fails: both open transactions receive the same tasks', async () => {
    const r = await probeClaimExclusivity(core.url, 'tasker.get_next_ready_tasks', 5)
    expect(r.status).toBe('fail')
    expect(r.evidence[0]).toMatch(/A got 5 tasks, B got 5, 5 in common .*: the tasks A received were not locked/)
  })

  test('readiness still passes there (the probe tells one promise from another)', async () => {
    const r = await probeReadinessRetry(core.client, 'tasker.get_step_readiness_status')
    expect(r.status, r.evidence.join('\n')).toBe('pass')
  }, 120_000)
})
