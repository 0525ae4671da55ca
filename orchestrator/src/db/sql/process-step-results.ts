/**
 * A batch of step results in one statement (one round trip, one transaction):
 * tasker.process_step_results (migrations/0005_process_step_results.sql) locks the tasks,
 * completes the steps and, when every result completed its step, evaluates the tasks (enqueue the
 * ready steps, finalize the complete tasks); then this statement archives the result messages and
 * sends the enqueued steps' messages to their namespaces' worker queues. The messages and their
 * NOTIFY become visible at commit, together with the enqueue: a worker that sees a message always
 * finds its step enqueued (commit-before-send), without a second round trip for the send.
 *
 * The queue tables are named in the statement, so it sends to a fixed list of namespaces (the
 * templates'); steps of a task in another namespace are returned unsent (`sentNamespaces` tells
 * which were sent) and the caller sends them. When a result did not complete its step
 * (`evaluated` false: an error to settle, or a replay), nothing is evaluated, archived or sent:
 * the caller settles and evaluates as before.
 */
import type pg from 'pg'
import { prepared, type Queryable } from '../pool.ts'
import { STEP_RESULTS_QUEUE, workerQueue } from '../../queues/names.ts'
import { archiveCtes, sendCtes } from '../../queues/queue-table.ts'
import type { CompletedStep, StepToComplete } from './complete-steps.ts'
import type { Evaluation } from './enqueue-ready-steps.ts'

export interface ProcessedResults {
  /** one per input, in input order */
  completed: CompletedStep[]
  /** false: some result did not complete its step; nothing was evaluated, archived or sent */
  evaluated: boolean
  tasks: Evaluation[]
}

const NAMESPACE_LITERAL = /^[A-Za-z][A-Za-z0-9_]{0,33}$/

export class StepResultsStatement {
  readonly sentNamespaces: ReadonlySet<string>
  private readonly statement: (values: unknown[]) => pg.QueryConfig

  constructor(namespaces: string[]) {
    const list = [...new Set(namespaces)].sort()
    for (const ns of list) {
      workerQueue(ns) // validates the name
      if (!NAMESPACE_LITERAL.test(ns)) throw new Error(`namespace "${ns}" cannot be written into SQL`)
    }
    this.sentNamespaces = new Set(list)
    const sends = list.map((ns, i) => sendCtes(workerQueue(ns), `ARRAY(SELECT s.message FROM sends s WHERE s.ns = '${ns}' ORDER BY s.ord)`, `s${i}_`))
    this.statement = prepared(
      `process_step_results_${list.length}`,
      `WITH p AS MATERIALIZED (
     SELECT tasker.process_step_results($1::uuid[], $2::uuid[], $3::bigint[], $5::jsonb) AS j
   ), archive_ids AS MATERIALIZED (
     SELECT CASE WHEN (p.j->>'evaluated')::boolean THEN $4::bigint[] ELSE '{}'::bigint[] END AS ids FROM p
   ), ${archiveCtes(STEP_RESULTS_QUEUE, '(SELECT ids FROM archive_ids)::bigint[]')},
   sends AS MATERIALIZED (
     SELECT t.task->'task'->>'namespace' AS ns, t.ord * 100000 + e.ord AS ord,
            jsonb_build_object('task_uuid', t.task->'task'->'task_uuid', 'step_uuid', e.step->'uuid',
                               'correlation_id', t.task->'task'->'correlation_id') AS message
     FROM p, jsonb_array_elements(p.j->'tasks') WITH ORDINALITY AS t(task, ord),
          jsonb_array_elements(t.task->'enqueued') WITH ORDINALITY AS e(step, ord)
   )${sends.length ? `, ${sends.join(',\n   ')}` : ''}
   SELECT p.j AS result, (SELECT count(*) FROM archive_done) AS archived${list.map((_, i) => `, (SELECT cardinality(msg_ids) FROM s${i}_send_done) AS sent_${i}`).join('')}
   FROM p`,
    )
  }

  async run(q: Queryable, results: StepToComplete[], archiveMsgIds: string[], metadata: Record<string, unknown>): Promise<ProcessedResults> {
    const { rows } = await q.query<{ result: ProcessedResults }>(
      this.statement([results.map((r) => r.taskUuid), results.map((r) => r.stepUuid), results.map((r) => r.msgId), archiveMsgIds, JSON.stringify(metadata)]),
    )
    return rows[0]!.result
  }
}
