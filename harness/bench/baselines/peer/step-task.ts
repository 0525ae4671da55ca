/**
 * The peer's one task handler (graphile-worker task `peer_step`): computes the step, then
 * - a child with one parent: this job adds it (`helpers.addJobs`), the way a graphile-worker
 *   chain is written: each job adds the next;
 * - a join child (several parents): in ONE transaction, count its row in peer_baseline.joins
 *   down and, when this parent is the last one (remaining reaches 0), add the join job with
 *   graphile_worker.add_job. The row lock taken by the UPDATE orders concurrent parents, so
 *   exactly one of them sees 0 and adds the join; the join job never exists before its last
 *   parent's transaction commits;
 * - a task's last step NOTIFYs the completion, as the floor does.
 * graphile-worker runs a job at least once (a job that fails after its transaction committed is
 * retried); in the bench no job fails.
 */
import type { JobHelpers, Task } from 'graphile-worker'
import { stepOf, stepValue, type Dag } from '../dag.ts'
import type { Shape } from '../../tasker/workflows.ts'
import type { TaskCompletion } from '../completion-listener.ts'
import { mergeTrails, type FloorMessage as StepMessage } from '../floor/messages.ts'
import { ADD_JOB, ARRIVE_AT_JOINS, DONE_CHANNEL, NOTIFY_DONE, TASK_IDENTIFIER } from './statements.ts'

interface JoinRow {
  step: string
  remaining: number
  parent_values: number[]
  trail: string[]
}

export function peerTask(dags: ReadonlyMap<Shape, Dag>): Task {
  return async (payload: unknown, helpers: JobHelpers) => {
    const message = payload as StepMessage
    const dag = dags.get(message.d)
    if (!dag) throw new Error(`job ${helpers.job.id} names an unknown shape ${message.d}`)
    const step = stepOf(dag, message.s)
    const value = stepValue(message.pv, message.in)
    const trail = [...message.tr, step.name]
    const isJoin = (name: string) => stepOf(dag, name).parents.length > 1

    const next = step.children.filter((c) => !isJoin(c)).map((c) => ({ identifier: TASK_IDENTIFIER, payload: { ...message, s: c, pv: [value], tr: trail } }))
    if (next.length > 0) await helpers.addJobs(next)

    const counters = step.children.filter(isJoin)
    if (counters.length > 0) {
      await helpers.withPgClient(async (client) => {
        await client.query('BEGIN')
        try {
          const arrived = await client.query<JoinRow>(ARRIVE_AT_JOINS, [message.t, counters, value, JSON.stringify(trail)])
          for (const row of arrived.rows.filter((r) => r.remaining === 0)) {
            await client.query(ADD_JOB, [TASK_IDENTIFIER, JSON.stringify({ ...message, s: row.step, pv: row.parent_values, tr: mergeTrails([row.trail]) })])
          }
          await client.query('COMMIT')
        } catch (err) {
          await client.query('ROLLBACK').catch(() => {})
          throw err
        }
      })
    }

    if (step.children.length === 0) {
      const completion: TaskCompletion = { t: message.t, v: { [step.name]: value }, tr: trail }
      await helpers.query(NOTIFY_DONE, [DONE_CHANNEL, JSON.stringify(completion)])
    }
  }
}
