/**
 * The join counters every baseline keeps, each in its own schema: the only bookkeeping a correct
 * DAG execution cannot do without — one row per join step of a task (a step with more than one
 * parent), counted down by each parent, collecting the parents' values and trails until the last
 * one is done. `schema` is one of the baselines' constant schema names, never input.
 */
export type BaselineSchema = 'floor_baseline' | 'peer_baseline' | 'minimal_chain'

export function joinCountersTable(schema: BaselineSchema): string {
  return `
CREATE TABLE IF NOT EXISTS ${schema}.joins (
  task_id uuid NOT NULL,
  step text NOT NULL,
  remaining integer NOT NULL CHECK (remaining >= 0),
  parent_values jsonb NOT NULL DEFAULT '[]',
  trail jsonb NOT NULL DEFAULT '[]',
  PRIMARY KEY (task_id, step)
);`
}

/** A task's counters (task, join steps, their parent counts: the parameters named), for a CTE. */
export function insertJoinCounters(schema: BaselineSchema, p: { task: string; steps: string; remaining: string }): string {
  return `INSERT INTO ${schema}.joins (task_id, step, remaining)
  SELECT ${p.task}::uuid, j.step, j.remaining FROM unnest(${p.steps}::text[], ${p.remaining}::int[]) AS j(step, remaining)`
}

/**
 * A parent's arrival at its join children: counts them down, keeping its value and trail; the row
 * lock orders concurrent parents, so exactly one of them sees 0. `when` adds a condition.
 */
export function arriveAtJoins(schema: BaselineSchema, p: { task: string; steps: string; value: string; trail: string; when?: string }): string {
  return `UPDATE ${schema}.joins
     SET remaining = remaining - 1,
         parent_values = parent_values || to_jsonb(${p.value}::bigint),
         trail = trail || ${p.trail}::jsonb
   WHERE task_id = ${p.task}::uuid AND step = ANY(${p.steps}::text[])${p.when ? ` AND ${p.when}` : ''}
  RETURNING step, remaining, parent_values, trail`
}
