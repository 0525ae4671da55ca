/**
 * Lost-step recovery of the reference orchestrator (a step `enqueued` whose message was never
 * sent gets it again): every lost step is found, however many steps wait in the queue before it;
 * a step being claimed is never sent again; and under a backlog of more than 500 steps with a
 * worker killed mid-step, every step completes exactly once with one message each.
 */
import pg from 'pg'
import { beforeAll, describe, expect, test } from 'vitest'
import { type Logger, LostStepRecovery } from '../orchestrator/index.ts'
import { createTask, killWorkerMidStep, stepTransitionCounts, taskBody, useOrchestrator, waitForTasks, type TestOrchestrator } from './support/orchestrator.ts'

const NAMESPACE = 'linear_workflow'
const QUEUE = 'pgmq.q_worker_linear_workflow_queue'
const ARCHIVE = 'pgmq.a_worker_linear_workflow_queue'

/** Collects the recovery's log lines; a failed sweep is only logged, so tests look here too. */
function captureLog(): Logger & { lines: string[] } {
  const lines: string[] = []
  const push = (m: string) => void lines.push(m)
  return { lines, debug: push, info: push, warn: push, error: push }
}

/** One sweep of the recovery as the orchestration runs it (start() sweeps at once; stop() awaits it). */
async function sweepOnce(pool: pg.Pool, olderThanSeconds: number): Promise<string[]> {
  const log = captureLog()
  const recovery = new LostStepRecovery(pool, [NAMESPACE], olderThanSeconds, log)
  recovery.start()
  await recovery.stop()
  const failed = log.lines.filter((l) => /failed/.test(l))
  if (failed.length > 0) throw new Error(failed.join('; '))
  return log.lines
}

async function createMany(o: TestOrchestrator, n: number): Promise<string[]> {
  const ids: string[] = new Array(n)
  let next = 0
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < n) {
        const i = next++
        ids[i] = await createTask(o.url, taskBody('linear', { even_number: 2 + (i % 7) * 2 }))
      }
    }),
  )
  return ids
}

/** The root step (linear_step_1) of each task, in the tasks' order. */
async function rootSteps(o: TestOrchestrator, taskUuids: string[]): Promise<string[]> {
  const { rows } = await o.db.pool.query<{ task_uuid: string; step_uuid: string }>(
    `SELECT ws.task_uuid, ws.workflow_step_uuid::text AS step_uuid FROM tasker.workflow_steps ws
     JOIN tasker.named_steps ns USING (named_step_uuid)
     WHERE ws.task_uuid = ANY ($1::uuid[]) AND ns.name = 'linear_step_1'`,
    [taskUuids],
  )
  const byTask = new Map(rows.map((r) => [r.task_uuid, r.step_uuid]))
  return taskUuids.map((t) => byTask.get(t)!)
}

/** Deletes the queued messages of these steps: their sends are "lost". */
async function loseMessages(o: TestOrchestrator, stepUuids: string[]): Promise<void> {
  const { rowCount } = await o.db.pool.query(`DELETE FROM ${QUEUE} WHERE message->>'step_uuid' = ANY ($1::text[])`, [stepUuids])
  expect(rowCount).toBe(stepUuids.length)
}

/** Messages per step in the queue (and, with archive, in its archive too). */
async function messageCounts(o: TestOrchestrator, stepUuids: string[], withArchive = false): Promise<Map<string, number>> {
  const { rows } = await o.db.pool.query<{ step_uuid: string; n: number }>(
    `SELECT step_uuid, count(*)::int AS n FROM (
       SELECT message->>'step_uuid' AS step_uuid FROM ${QUEUE}
       ${withArchive ? `UNION ALL SELECT message->>'step_uuid' FROM ${ARCHIVE}` : ''}
     ) m WHERE step_uuid = ANY ($1::text[]) GROUP BY step_uuid`,
    [stepUuids],
  )
  return new Map(rows.map((r) => [r.step_uuid, r.n]))
}

describe('one sweep, no worker running', () => {
  // The orchestration's own sweeps stay out of the way (a day); the test sweeps by hand.
  const o = useOrchestrator({ workers: 1, env: { TASKER_STALE_ENQUEUED_S: '86400' } })
  beforeAll(async () => {
    await o.orchestrator.killWorker(0, 'SIGTERM')
  }, 60_000)

  test('a step being claimed while the sweep runs is not sent again, then or after the claim', async () => {
    const [id] = await createMany(o, 1)
    const [step] = await rootSteps(o, [id!])
    await loseMessages(o, [step!])
    const claim = new pg.Client({ connectionString: o.db.server.url })
    await claim.connect()
    try {
      await claim.query('BEGIN')
      const { rows } = await claim.query<{ claimed: boolean }>(
        `SELECT tasker.transition_step($1::uuid, ARRAY['enqueued'], 'in_progress', '{"worker_id":"test"}'::jsonb) AS claimed`,
        [step],
      )
      expect(rows[0]!.claimed).toBe(true)
      await sweepOnce(o.db.pool, 0) // the claim holds the step's row lock and is not committed yet
      expect(await messageCounts(o, [step!])).toEqual(new Map())
      await claim.query('COMMIT')
    } finally {
      await claim.end()
    }
    await sweepOnce(o.db.pool, 0)
    expect(await messageCounts(o, [step!])).toEqual(new Map())
  }, 60_000)

  test('finds every lost step behind a backlog of more than 500 waiting steps, sends each once, oldest first', async () => {
    const ids = await createMany(o, 650)
    const roots = await rootSteps(o, ids)
    // The newest 100 are lost; 550 older ones wait in the queue with their message.
    const lost = roots.slice(550)
    await loseMessages(o, lost)
    await sweepOnce(o.db.pool, 0)
    const counts = await messageCounts(o, roots)
    expect(roots.filter((s) => counts.get(s) !== 1), 'root steps without exactly one message').toEqual([])
    const { rows } = await o.db.pool.query<{ step_uuid: string }>(
      `SELECT message->>'step_uuid' AS step_uuid FROM ${QUEUE} WHERE message->>'step_uuid' = ANY ($1::text[]) ORDER BY msg_id`,
      [lost],
    )
    const enqueuedOrder = await o.db.pool.query<{ step_uuid: string }>(
      `SELECT workflow_step_uuid::text AS step_uuid FROM tasker.workflow_step_transitions
       WHERE workflow_step_uuid = ANY ($1::uuid[]) AND most_recent ORDER BY created_at, workflow_step_uuid`,
      [lost],
    )
    expect(rows.map((r) => r.step_uuid)).toEqual(enqueuedOrder.rows.map((r) => r.step_uuid))
  }, 180_000)
})

describe('a backlog of more than 500 steps, lost sends and a worker killed mid-step', () => {
  const o = useOrchestrator({ workers: 2, env: { TASKER_STALE_ENQUEUED_S: '3' } })

  test('every step completes exactly once, each root step with one message', async () => {
    // A worker is killed while it runs a step; the other stops too, so a backlog builds.
    const killed = await killWorkerMidStep(o)
    const slow = killed.taskUuid
    await o.orchestrator.killWorker(0, 'SIGTERM')

    const ids = await createMany(o, 600)
    const roots = await rootSteps(o, ids)
    const lost = roots.slice(500)
    await loseMessages(o, lost)
    // The orchestration's own recovery finds them while 500 older steps still wait.
    const deadline = Date.now() + 60_000
    let missing = lost
    while (Date.now() < deadline) {
      const counts = await messageCounts(o, lost)
      missing = lost.filter((s) => !counts.has(s))
      if (missing.length === 0) break
      await new Promise((r) => setTimeout(r, 250))
    }
    expect(missing, 'lost steps not sent again within 60 s while the backlog waits').toEqual([])

    await o.orchestrator.startWorker()
    await o.orchestrator.startWorker()
    const all = [slow, ...ids]
    await waitForTasks(o.db, all, ['complete'], 300_000)

    const rows = await stepTransitionCounts(o.db, all)
    expect(rows.length).toBe(601 * 3)
    expect(rows.filter((r) => r.completes !== 1 || r.submits !== 1)).toEqual([])
    // The killed worker's step was taken over by another worker (claimed at least twice).
    expect(rows.find((r) => r.step_uuid === killed.stepUuid)!.claims).toBeGreaterThanOrEqual(2)
    const counts = await messageCounts(o, roots, true)
    expect(roots.filter((s) => counts.get(s) !== 1), 'root steps sent more or less than once').toEqual([])
    expect((await o.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${QUEUE}`)).rows[0]!.n).toBe(0)
  }, 480_000)
})
