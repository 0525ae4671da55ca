/** The dominant plan node and the plan shape (harness/bench/database/explain.ts), on synthetic JSON plans. */
import { expect, test } from 'vitest'
import { dominantNode, planShape, type PlanNode } from '../harness/bench/database/explain.ts'

const node = (type: string, total: number, rows: number, extra: Partial<PlanNode> = {}, children: PlanNode[] = []): PlanNode =>
  ({ 'Node Type': type, 'Actual Total Time': total, 'Actual Rows': rows, 'Actual Loops': 1, Plans: children, ...extra }) as PlanNode

// A limit over a sort over a hash join of a big sequential scan and a small index scan.
const plan = node('Limit', 80, 10, {}, [
  node('Sort', 79, 10, {}, [
    node('Hash Join', 70, 4_000, {}, [
      node('Seq Scan', 60, 100_000, { 'Relation Name': 'task_transitions' }),
      node('Hash', 2, 500, {}, [node('Index Scan', 1.5, 500, { 'Relation Name': 'tasks', 'Index Name': 'tasks_pkey' })]),
    ]),
  ]),
])

test('the node with the most time of its own, with its table and rows; loops multiply', () => {
  expect(dominantNode([plan])).toBe('Seq Scan on task_transitions: 100,000 rows')
  const looped = node('Nested Loop', 50, 1_000, {}, [
    node('Seq Scan', 1, 1_000, { 'Relation Name': 'tasks' }),
    node('Index Scan', 0.04, 3, { 'Relation Name': 'workflow_steps', 'Index Name': 'steps_task_idx', 'Actual Loops': 1_000 }),
  ])
  expect(dominantNode([looped])).toBe('Index Scan on workflow_steps using steps_task_idx: 3,000 rows in 1,000 loops')
  // across the statements of a function: the slowest statement's node
  expect(dominantNode([looped, plan])).toBe('Seq Scan on task_transitions: 100,000 rows')
  expect(dominantNode([])).toBeUndefined()
})

test('plan shape: node kinds and tables; the same statements in another number give the same shape', () => {
  const a = planShape([plan])
  expect(a).toBe('Limit > Sort > Hash Join > Seq Scan(task_transitions) > Hash > Index Scan(tasks:tasks_pkey)')
  expect(planShape([plan, plan])).toBe(a)
  expect(planShape([node('Index Scan', 1, 1, { 'Relation Name': 'task_transitions', 'Index Name': 'tt_idx' })])).not.toBe(a)
})
