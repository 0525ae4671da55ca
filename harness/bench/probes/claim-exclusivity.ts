/**
 * Probe: does get_next_ready_tasks claim what it returns? Two sessions each open a transaction
 * and call get_next_ready_tasks(n), the second while the first's transaction is still open. A
 * function that locks its tasks FOR UPDATE SKIP LOCKED hands the second caller other tasks (or
 * none); one that locks nothing hands it the same ones. Deterministic: the second call starts only
 * after the first has returned, and both transactions are rolled back.
 */
import { newClient } from '../../db/connect.ts'
import type { ProbeResult } from '../../results/findings.ts'

/** A second call that waits this long for the first's locks is blocked, not skipping them. */
const BLOCKED_MS = 10_000

export async function probeClaimExclusivity(url: string, nextReadyTasks: string, limit = 5): Promise<ProbeResult> {
  const name = 'claim exclusivity'
  const [a, b] = [newClient(url, 'probe A'), newClient(url, 'probe B')]
  try {
    await a.connect()
    await b.connect()
    const call = `SELECT task_uuid::text AS task_uuid FROM ${nextReadyTasks}($1::integer)`
    await a.query('BEGIN')
    await b.query('BEGIN')
    await b.query(`SET LOCAL statement_timeout = ${BLOCKED_MS}`)
    const first = (await a.query<{ task_uuid: string }>(call, [limit])).rows.map((r) => r.task_uuid)
    if (first.length === 0) return { name, status: 'not run', evidence: [`${nextReadyTasks}(${limit}) returned no task: nothing to claim in this database`] }
    let second: string[]
    try {
      second = (await b.query<{ task_uuid: string }>(call, [limit])).rows.map((r) => r.task_uuid)
    } catch (err) {
      // statement_timeout (57014) or, when it is the shorter, the suite's lock_timeout (55P03)
      const code = (err as { code?: string }).code
      if (code !== '57014' && code !== '55P03') throw err
      return { name, status: 'fail', evidence: [`session A claimed ${first.length} tasks; session B's call waited for A's locks (${(err as Error).message}) instead of skipping them`] }
    }
    const shared = first.filter((t) => second.includes(t))
    const calls = `two open transactions each called ${nextReadyTasks}(${limit}): A got ${first.length} tasks, B got ${second.length}`
    return shared.length === 0
      ? { name, status: 'pass', evidence: [`${calls}, none in common: A's tasks were locked and skipped`] }
      : { name, status: 'fail', evidence: [`${calls}, ${shared.length} in common (e.g. ${shared.slice(0, 3).join(', ')}): the tasks A received were not locked`] }
  } finally {
    for (const c of [a, b]) await c.query('ROLLBACK').catch(() => {})
    for (const c of [a, b]) await c.end().catch(() => {})
  }
}
