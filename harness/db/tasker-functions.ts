/**
 * Finds the Tasker functions a database defines, wherever they live (tasker-core and the
 * reference orchestrator: schema `tasker`), so benches call the database's own definitions by
 * their qualified names, and fingerprints each one (schema + md5 of its definition) so that results
 * tell "same code" from "different code". Read-only.
 */
import type pg from 'pg'

/** The functions the benches call by name. */
export const TASKER_FUNCTIONS = [
  'get_next_ready_tasks',
  'get_step_readiness_status',
  'get_step_readiness_status_batch',
  'get_task_execution_context',
  'get_step_transitive_dependencies',
  'pgmq_send_with_notify',
  'pgmq_send_batch_with_notify',
] as const
export type TaskerFunctionName = (typeof TASKER_FUNCTIONS)[number]

export interface FunctionFingerprint {
  schema: string
  /** identity arguments, e.g. `input_task_uuid uuid, step_uuids uuid[]` */
  arguments: string
  /** md5 of pg_get_functiondef: equal hashes, equal code */
  hash: string
}

export type TaskerFunctions = Partial<Record<TaskerFunctionName, FunctionFingerprint>>

/** The schema the contract puts them in; preferred when a name exists in several schemas. */
const PREFERRED_SCHEMA = 'tasker'

// Read in sessions on the database's own search_path (the hashes depend on it): every function
// and operator is named with its schema, so that none the database defines can stand in.
const FIND = `
  SELECT p.proname AS name, n.nspname AS schema, pg_catalog.pg_get_function_identity_arguments(p.oid) AS arguments,
         pg_catalog.md5(pg_catalog.pg_get_functiondef(p.oid)) AS hash
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
  WHERE p.proname OPERATOR(pg_catalog.=) ANY($1::pg_catalog.name[]) AND n.nspname OPERATOR(pg_catalog.<>) ALL ('{pg_catalog,information_schema}'::pg_catalog.name[])
  ORDER BY p.proname, n.nspname OPERATOR(pg_catalog.<>) $2::pg_catalog.name, n.nspname, p.oid`

export async function findTaskerFunctions(client: pg.ClientBase): Promise<TaskerFunctions> {
  const { rows } = await client.query<{ name: TaskerFunctionName } & FunctionFingerprint>(FIND, [TASKER_FUNCTIONS, PREFERRED_SCHEMA])
  const found: TaskerFunctions = {}
  const schemas = new Map<string, Set<string>>()
  for (const r of rows) {
    if (!schemas.has(r.name)) schemas.set(r.name, new Set())
    schemas.get(r.name)!.add(r.schema)
    // First row per name: the preferred schema, else the alphabetically first (checked below).
    found[r.name] ??= { schema: r.schema, arguments: r.arguments, hash: r.hash }
  }
  for (const [name, inSchemas] of schemas) {
    if (inSchemas.size > 1 && !inSchemas.has(PREFERRED_SCHEMA)) {
      throw new Error(`${name} exists in schemas ${[...inSchemas].join(', ')}: the suite cannot tell which one the orchestrator calls (expected it in schema ${PREFERRED_SCHEMA})`)
    }
  }
  return found
}

/** The functions of `names` the database lacks. */
export function missingFunctions(functions: TaskerFunctions, names: readonly TaskerFunctionName[]): TaskerFunctionName[] {
  return names.filter((n) => !functions[n])
}

/** `tasker.get_next_ready_tasks`, quoted where the schema needs it; throws a one-line error when absent. */
export function qualifiedName(functions: TaskerFunctions, name: TaskerFunctionName, where: string): string {
  const f = functions[name]
  if (!f) throw new Error(`${where} has no function ${name} (looked in every schema; the Tasker contract puts it in schema ${PREFERRED_SCHEMA})`)
  return `${quoteIdentifier(f.schema)}.${name}`
}

/** "schema.name" → hash, the shape results record. */
export function fingerprintRecord(functions: TaskerFunctions): Record<string, string> {
  return Object.fromEntries(Object.entries(functions).map(([name, f]) => [`${f.schema}.${name}`, f.hash]))
}

function quoteIdentifier(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`
}
