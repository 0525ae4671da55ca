/**
 * What a database is, compared before and after a run to prove the run changed nothing in it
 * (tests; npm run conformance): a hash of its own catalog
 * (schemas, relations and their columns, functions with their definitions, triggers, extensions,
 * database settings) and the row count of every table outside the system schemas.
 */
import type pg from 'pg'

const CATALOG = `
  SELECT md5(string_agg(entry, E'\\n' ORDER BY entry)) AS hash, count(*)::int AS entries FROM (
    SELECT 'schema ' || nspname AS entry FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'
    UNION ALL
    SELECT format('rel %s.%s %s', n.nspname, c.relname, c.relkind) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
    UNION ALL
    SELECT format('col %s.%s.%s %s', n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod))
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE a.attnum > 0 AND NOT a.attisdropped AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
    UNION ALL
    SELECT format('fn %s.%s %s', n.nspname, p.proname, md5(CASE WHEN p.prokind = 'a' THEN p.proname ELSE pg_get_functiondef(p.oid) END))
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
    UNION ALL
    SELECT 'trigger ' || pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal
    UNION ALL
    SELECT format('ext %s %s', extname, extversion) FROM pg_extension
    UNION ALL
    SELECT 'setting ' || array_to_string(setconfig, ',') FROM pg_db_role_setting
      WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
  ) catalog`

const TABLES = `
  SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r' AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema' ORDER BY 1`

export interface CatalogSnapshot {
  hash: string
  entries: number
  rows: Record<string, number>
}

export async function snapshotDatabase(client: pg.ClientBase): Promise<CatalogSnapshot> {
  const { rows: [catalog] } = await client.query<{ hash: string; entries: number }>(CATALOG)
  const rows: Record<string, number> = {}
  for (const { name } of (await client.query<{ name: string }>(TABLES)).rows) {
    // Names come from the catalog, quoted by format('%I.%I').
    const { rows: [count] } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${name}`)
    rows[name] = Number(count!.n)
  }
  return { hash: catalog!.hash, entries: catalog!.entries, rows }
}
