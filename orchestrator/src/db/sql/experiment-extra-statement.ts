/**
 * The experiment knob's statement (TASKER_WORKER_EXTRA_STATEMENTS): a cheap index lookup of the
 * step, run after its handler, one more statement per step of known cost, so that the work
 * comparison's power can be measured (npm run bench:power -- --work). Never on by default.
 */
import { prepared, type Queryable } from '../pool.ts'

const select = prepared(
  'experiment_extra_statement',
  `SELECT 1 AS experiment_extra_statement FROM tasker.workflow_steps WHERE workflow_step_uuid = $1::uuid`,
)

export async function experimentExtraStatement(q: Queryable, stepUuid: string): Promise<void> {
  await q.query(select([stepUuid]))
}
