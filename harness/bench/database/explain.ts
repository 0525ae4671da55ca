/**
 * Query plans of the benchmarked SQL functions, kept next to the results: for each call
 * `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)` into `<dir>/<file>.json`, plus warnings for the plans a
 * growing table makes slow: a sequential scan of a big tasker table, or any scan reading a good
 * share of one (scanWarnings).
 *
 * A function the planner does not inline (PL/pgSQL, or SQL with a SET clause or VOLATILE) shows in
 * EXPLAIN as one "Function Scan" hiding everything it runs. For those the call runs once more with
 * auto_explain loaded for the transaction (log_nested_statements, JSON, sent to this client as
 * NOTICEs), which yields the plan of every statement inside. Loading auto_explain needs a
 * superuser (or auto_explain in session_preload_libraries); without it the file says so and only
 * the outer plan is there.
 *
 * Every call runs in a transaction that is rolled back: EXPLAIN ANALYZE executes the function, and
 * get_next_ready_tasks claims (locks) tasks. Use a connection of its own: auto_explain stays loaded
 * in the session (inactive once the transaction's settings are gone).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type pg from 'pg'

/** Tables whose sequential scan is a warning once they hold more than `largeTableRows` rows. */
export const WATCHED_TABLES = ['tasks', 'workflow_steps', 'workflow_step_transitions', 'workflow_step_edges', 'task_transitions'] as const

export interface PlanTarget {
  /** what the results call it, e.g. `get_next_ready_tasks(10)` */
  name: string
  /** file name without .json, e.g. `get_next_ready_tasks_10` */
  file: string
  /** the call, parameterised: `SELECT * FROM tasker.get_next_ready_tasks($1)` */
  sql: string
  values: unknown[]
}

/** A node of PostgreSQL's JSON plan (the fields used here; the file keeps all of them). */
export interface PlanNode {
  'Node Type': string
  'Relation Name'?: string
  'Function Name'?: string
  'Actual Rows'?: number
  'Actual Loops'?: number
  'Rows Removed by Filter'?: number
  Plans?: PlanNode[]
  [key: string]: unknown
}

export interface NestedPlan {
  queryText: string
  durationMs: number
  plan: PlanNode
}

export interface CapturedPlan {
  name: string
  /** absolute path of the JSON file */
  file: string
  executionMs: number | undefined
  /** the outer plan was a Function Scan: the function was not inlined */
  opaque: boolean
  /** plans of the statements inside, when captured */
  nested: NestedPlan[]
  /** why nested plans are missing, when they are */
  nestedUnavailable?: string
  warnings: string[]
  /** the node that took the most time of its own, e.g. `Seq Scan on task_transitions: 100,000 rows` (dominantNode) */
  dominant?: string
  /** the plan's node kinds and tables, outer plan and statements inside, to tell when a plan changes (planShape) */
  shape: string
}

export interface CaptureOptions {
  /** directory for the JSON files, created if missing */
  dir: string
  /** scale label, recorded in the files */
  scale: string
  /** default 10,000 */
  largeTableRows?: number
}

const TABLE_ROWS = `
  SELECT c.relname AS table, c.reltuples::bigint AS rows
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = 'tasker' AND c.relname = ANY ($1)`

const AUTO_EXPLAIN_SETTINGS = [
  'SET LOCAL client_min_messages = notice',
  'SET LOCAL auto_explain.log_min_duration = 0',
  'SET LOCAL auto_explain.log_analyze = on',
  'SET LOCAL auto_explain.log_buffers = on',
  'SET LOCAL auto_explain.log_timing = on',
  'SET LOCAL auto_explain.log_nested_statements = on',
  'SET LOCAL auto_explain.log_format = json',
  'SET LOCAL auto_explain.log_level = notice',
]

/** Row estimates (pg_class.reltuples, fresh after ANALYZE) of the watched tables. */
export async function watchedTableRows(client: pg.ClientBase): Promise<Map<string, number>> {
  const { rows } = await client.query<{ table: string; rows: string }>(TABLE_ROWS, [WATCHED_TABLES])
  return new Map(rows.map((r) => [r.table, Math.max(0, Number(r.rows))]))
}

export async function capturePlans(client: pg.ClientBase, targets: PlanTarget[], options: CaptureOptions): Promise<CapturedPlan[]> {
  mkdirSync(options.dir, { recursive: true })
  const tableRows = await watchedTableRows(client)
  const threshold = options.largeTableRows ?? 10_000
  const large = new Map([...tableRows].filter(([, n]) => n > threshold))
  let autoExplain: string | undefined // undefined: not tried yet; '' loaded; else why not
  const captured: CapturedPlan[] = []

  for (const target of targets) {
    if (!/^[A-Za-z0-9_.-]+$/.test(target.file)) throw new Error(`plan file name "${target.file}" may hold only letters, digits, _ . -`)
    const explained = await inRolledBackTransaction(client, async () => {
      const { rows } = await client.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${target.sql}`, target.values)
      return rows[0]!['QUERY PLAN'] as [{ Plan: PlanNode; 'Execution Time'?: number; 'Planning Time'?: number }]
    })
    const top = explained[0]
    const opaque = someNode(top.Plan, (n) => n['Node Type'] === 'Function Scan' && !BUILTIN_SET_FUNCTIONS.has(n['Function Name'] ?? ''))

    let nested: NestedPlan[] = []
    let nestedUnavailable: string | undefined
    if (opaque) {
      autoExplain ??= await tryLoadAutoExplain(client)
      if (autoExplain === '') nested = await nestedPlans(client, target)
      else nestedUnavailable = autoExplain
    }

    const warnings = [
      ...scanWarnings(top.Plan, large).map((w) => `${target.name} @${options.scale}: ${w}`),
      ...nested.flatMap((p, i) => scanWarnings(p.plan, large).map((w) => `${target.name} @${options.scale}: ${w} in statement ${i + 1} inside the function (${oneLine(p.queryText)})`)),
    ]
    const file = path.join(options.dir, `${target.file}.json`)
    writeFileSync(
      file,
      JSON.stringify(
        {
          function: target.name,
          scale: options.scale,
          call: target.sql,
          parameters: target.values,
          capturedAt: new Date().toISOString(),
          tableRows: Object.fromEntries(tableRows),
          warnings,
          plan: explained,
          nested: opaque ? nested : undefined,
          nestedUnavailable,
        },
        null,
        2,
      ) + '\n',
    )
    // An opaque function's outer Function Scan holds all the time the statements inside take.
    const inside = nested.map((p) => p.plan)
    const plans = [top.Plan, ...inside]
    captured.push({ name: target.name, file, executionMs: top['Execution Time'], opaque, nested, nestedUnavailable, warnings, dominant: dominantNode(inside.length ? inside : [top.Plan]), shape: planShape(plans) })
  }
  return captured
}

/**
 * Warnings for the plan shapes that make a function slow as the tables grow, on any large watched
 * table anywhere in the plan:
 * - every sequential scan: "Seq Scan on workflow_steps (550,474 rows in the table, 1 loop, …)";
 * - any other scan that reads at least 5 % of the table (and 1,000 rows) in one execution, e.g. an
 *   index scan walking all claimable tasks: "Index Scan on tasks via tasks_claimable_idx read
 *   15,123 of 100,000 rows (15 %)".
 */
export function scanWarnings(plan: PlanNode, large: ReadonlyMap<string, number>): string[] {
  const warnings: string[] = []
  walk(plan, (n) => {
    const table = n['Relation Name']
    if (!table || !large.has(table)) return
    const total = large.get(table)!
    const loops = n['Actual Loops'] ?? 1
    const removed = n['Rows Removed by Filter']
    const read = ((n['Actual Rows'] ?? 0) + (removed ?? 0)) * loops
    if (/Seq Scan$/.test(n['Node Type'])) {
      warnings.push(
        `${n['Node Type']} on ${table} (${fmt(total)} rows in the table, ${fmt(loops)} loop${loops === 1 ? '' : 's'}` +
          `${removed !== undefined ? `, ${fmt(removed)} removed by filter` : ''})`,
      )
    } else if (/Scan$/.test(n['Node Type']) && read >= 1_000 && read >= total * WIDE_SCAN_SHARE) {
      const via = typeof n['Index Name'] === 'string' ? ` via ${n['Index Name']}` : ''
      warnings.push(`${n['Node Type']} on ${table}${via} read ${fmt(read)} of ${fmt(total)} rows (${Math.round((read / total) * 100)} %)`)
    }
  })
  return warnings
}

/**
 * The node with the most time of its own (its actual total time × loops, less its children's)
 * across plans — the outer plan and the statements inside a function — named with its table or
 * index and the rows it produced over all loops: `Seq Scan on task_transitions: 100,000 rows`.
 * For an opaque function pass the plans of the statements inside (its outer Function Scan
 * would hold all their time). Undefined without plans.
 */
export function dominantNode(plans: readonly PlanNode[]): string | undefined {
  let best: { self: number; node: PlanNode } | undefined
  const total = (n: PlanNode) => (Number(n['Actual Total Time'] ?? 0) || 0) * (n['Actual Loops'] ?? 1)
  for (const plan of plans) {
    // A CTE Scan's time includes running its WITH query, whose plan is an InitPlan elsewhere.
    const ctes = new Map<string, number>()
    walk(plan, (n) => {
      const m = /^CTE (.+)$/.exec(String(n['Subplan Name'] ?? ''))
      if (m) ctes.set(m[1]!, total(n))
    })
    walk(plan, (n) => {
      // a function's own statements are among `plans` when it was opaque: its scan only repeats them
      if (plans.length > 1 && n['Node Type'] === 'Function Scan' && !BUILTIN_SET_FUNCTIONS.has(n['Function Name'] ?? '')) return
      let self = total(n) - (n.Plans ?? []).reduce((a, c) => a + total(c), 0)
      if (n['Node Type'] === 'CTE Scan') self -= ctes.get(String(n['CTE Name'])) ?? 0
      if (!best || self > best.self) best = { self, node: n }
    })
  }
  if (!best) return undefined
  const n = best.node
  const on = n['Relation Name'] ? ` on ${n['Relation Name']}` : n['CTE Name'] ? ` on ${n['CTE Name']}` : n['Function Name'] ? ` on ${n['Function Name']}()` : ''
  const via = typeof n['Index Name'] === 'string' ? ` using ${n['Index Name']}` : ''
  const loops = n['Actual Loops'] ?? 1
  return `${n['Node Type']}${on}${via}: ${fmt((n['Actual Rows'] ?? 0) * loops)} rows${loops > 1 ? ` in ${fmt(loops)} loops` : ''}`
}

/**
 * Node kinds with their table or index, depth-first, per plan; the distinct ones, sorted (a
 * statement a PL/pgSQL loop runs more often at one scale is not a change of plan).
 */
export function planShape(plans: readonly PlanNode[]): string {
  const shapes = plans
    .map((plan) => {
      const parts: string[] = []
      walk(plan, (n) => parts.push(`${n['Node Type']}${n['Relation Name'] ? `(${n['Relation Name']}${typeof n['Index Name'] === 'string' ? `:${n['Index Name']}` : ''})` : ''}`))
      return parts.join(' > ')
    })
  return [...new Set(shapes)].sort().join(' | ')
}

/** A scan reading this share of a large table in one call is a warning, whatever its kind. */
const WIDE_SCAN_SHARE = 0.05

/** Set-returning built-ins whose Function Scan is just that, not a hidden function body. */
const BUILTIN_SET_FUNCTIONS = new Set(['unnest', 'generate_series', 'jsonb_array_elements', 'jsonb_each', 'json_array_elements', 'regexp_matches', 'string_to_table'])

async function tryLoadAutoExplain(client: pg.ClientBase): Promise<string> {
  try {
    await client.query(`LOAD 'auto_explain'`)
    return ''
  } catch (err) {
    return `auto_explain could not be loaded (${(err as Error).message}); only the outer plan was captured. ` +
      'A superuser connection, or auto_explain in session_preload_libraries, shows the statements inside the function.'
  }
}

/** Runs the call once with auto_explain logging every statement's plan to this client. */
async function nestedPlans(client: pg.ClientBase, target: PlanTarget): Promise<NestedPlan[]> {
  const notices: string[] = []
  const onNotice = (n: { message?: string }) => {
    if (n.message?.startsWith('duration:')) notices.push(n.message)
  }
  client.on('notice', onNotice)
  try {
    await inRolledBackTransaction(client, async () => {
      for (const s of AUTO_EXPLAIN_SETTINGS) await client.query(s)
      await client.query(target.sql, target.values)
    })
  } finally {
    client.off('notice', onNotice)
  }
  const plans: NestedPlan[] = []
  for (const message of notices) {
    // "duration: 0.734 ms  plan:\n{ "Query Text": …, "Plan": {…} }"
    const m = /^duration: ([\d.]+) ms\s+plan:\s*\n([\s\S]*)$/.exec(message)
    if (!m) continue
    try {
      const doc = JSON.parse(m[2]!) as { 'Query Text'?: string; Plan: PlanNode }
      // The outer call itself is logged too (last); its plan is already in the file.
      if (doc['Query Text']?.trim() === target.sql.trim()) continue
      plans.push({ queryText: doc['Query Text'] ?? '', durationMs: Number(m[1]), plan: doc.Plan })
    } catch {
      // Not JSON (someone else's auto_explain format): keep the outer plan only.
    }
  }
  return plans
}

async function inRolledBackTransaction<T>(client: pg.ClientBase, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN')
  try {
    return await fn()
  } finally {
    await client.query('ROLLBACK')
  }
}

function walk(node: PlanNode, visit: (n: PlanNode) => void): void {
  visit(node)
  for (const child of node.Plans ?? []) walk(child, visit)
}

function someNode(node: PlanNode, test: (n: PlanNode) => boolean): boolean {
  let found = false
  walk(node, (n) => {
    found ||= test(n)
  })
  return found
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US')
const oneLine = (sql: string) => {
  const s = sql.replace(/\s+/g, ' ').trim()
  return s.length > 80 ? `${s.slice(0, 77)}…` : s
}
