/**
 * Copies a database's own schema, without data, into an empty database on the same server, so
 * that a bench writes into a scratch copy while calling the target's functions exactly as the
 * target defines them (never the suite's own).
 *
 * Read from the catalog rather than with pg_dump: the npm-shipped server has no pg_dump, and a
 * pg_dump older than the server refuses to run. The source session reads with
 * `search_path = pg_catalog`, so every definition the server prints names its objects with their
 * schema.
 *
 * Copied: extensions (same version), schemas, enum / domain / composite types, functions and
 * procedures, sequences, tables (columns, defaults, identity and generated columns), constraints,
 * indexes, views and materialized views (empty), triggers, and the database's search_path setting.
 * Not copied: data, owners, grants, comments, policies, rules; members of extensions (the
 * extension creates those itself); pgmq's queue tables (`pgmq.q_*`, `pgmq.a_*`: the benches create
 * queues of their own). Unsupported relations (partitioned or inheriting tables, aggregates) are
 * reported, not silently dropped.
 *
 * Statements run in one transaction in the target, each under a savepoint, repeated until no
 * statement makes progress: the catalog gives no safe creation order between, say, a function
 * returning a table's row type and a table whose default calls a function.
 *
 * The copy grants no role anything it lacked in the source: every copied object is owned by the
 * role that copies (the bench role), and PUBLIC keeps no privilege on any of them (no EXECUTE on
 * functions, SECURITY DEFINER ones included; no USAGE on schemas and types), so only that role
 * and superusers can use them. Both sessions resolve names in pg_catalog only: the copy calls
 * none of the source's functions, and none of those it has just copied.
 */
import type pg from 'pg'

export interface CopyReport {
  /** statements applied, by kind */
  counts: Record<string, number>
  /** what was not copied and why, one line each */
  skipped: string[]
}

interface Statement {
  kind: string
  object: string
  sql: string
}

/** Objects of the database's own, outside system schemas and not created by an extension. */
const OWN_NAMESPACES = `
  SELECT n.oid, n.nspname FROM pg_namespace n
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
    AND n.nspname !~ '^pg_(toast_)?temp_'
`
const NOT_EXTENSION_MEMBER = (catalog: string, oid: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '${catalog}'::regclass AND d.objid = ${oid} AND d.deptype = 'e')`
/** pgmq keeps one table pair per queue; the compatible layer's are plain tables, skipped alike. */
const QUEUE_TABLE = `(n.nspname = 'pgmq' AND c.relname ~ '^[aq]_')`

const EXTENSIONS = `
  SELECT e.extname AS object,
         format('CREATE EXTENSION IF NOT EXISTS %I WITH SCHEMA %I VERSION %L CASCADE', e.extname, n.nspname, e.extversion) AS sql
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
  WHERE e.extname <> 'plpgsql'
  ORDER BY e.oid`

const SCHEMAS = `
  SELECT s.nspname AS object, format('CREATE SCHEMA IF NOT EXISTS %I', s.nspname) AS sql
  FROM (${OWN_NAMESPACES}) s
  WHERE ${NOT_EXTENSION_MEMBER('pg_namespace', 's.oid')} AND s.nspname <> 'public'
  ORDER BY s.oid`

const TYPES = `
  SELECT format('%I.%I', n.nspname, t.typname) AS object,
    CASE t.typtype
      WHEN 'e' THEN format('CREATE TYPE %I.%I AS ENUM (%s)', n.nspname, t.typname,
        (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid))
      WHEN 'd' THEN format('CREATE DOMAIN %I.%I AS %s%s%s%s', n.nspname, t.typname, format_type(t.typbasetype, t.typtypmod),
        CASE WHEN t.typdefaultbin IS NOT NULL THEN ' DEFAULT ' || pg_get_expr(t.typdefaultbin, 0) ELSE '' END,
        CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END,
        coalesce((SELECT string_agg(format(' CONSTRAINT %I %s', con.conname, pg_get_constraintdef(con.oid)), '' ORDER BY con.oid)
                  FROM pg_constraint con WHERE con.contypid = t.oid AND con.contype = 'c'), ''))
      WHEN 'c' THEN format('CREATE TYPE %I.%I AS (%s)', n.nspname, t.typname,
        (SELECT string_agg(format('%I %s', a.attname, format_type(a.atttypid, a.atttypmod)), ', ' ORDER BY a.attnum)
         FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped))
    END AS sql
  FROM pg_type t JOIN (${OWN_NAMESPACES}) n ON n.oid = t.typnamespace
  WHERE ${NOT_EXTENSION_MEMBER('pg_type', 't.oid')}
    AND (t.typtype IN ('e', 'd') OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))
  ORDER BY t.oid`

const FUNCTIONS = `
  SELECT format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) AS object,
         pg_get_functiondef(p.oid) AS sql
  FROM pg_proc p JOIN (${OWN_NAMESPACES}) n ON n.oid = p.pronamespace
  WHERE ${NOT_EXTENSION_MEMBER('pg_proc', 'p.oid')} AND p.prokind IN ('f', 'p', 'w')
  ORDER BY p.oid`

const AGGREGATES = `
  SELECT format('%I.%I', n.nspname, p.proname) AS object
  FROM pg_proc p JOIN (${OWN_NAMESPACES}) n ON n.oid = p.pronamespace
  WHERE ${NOT_EXTENSION_MEMBER('pg_proc', 'p.oid')} AND p.prokind = 'a'`

/** Sequences of their own (not identity sequences, not those of skipped queue tables). */
const SEQUENCES = `
  SELECT format('%I.%I', n.nspname, c.relname) AS object,
         format('CREATE SEQUENCE %I.%I AS %s INCREMENT %s MINVALUE %s MAXVALUE %s START %s CACHE %s%s',
                n.nspname, c.relname, format_type(s.seqtypid, NULL), s.seqincrement, s.seqmin, s.seqmax, s.seqstart, s.seqcache,
                CASE WHEN s.seqcycle THEN ' CYCLE' ELSE '' END) AS sql
  FROM pg_class c JOIN pg_sequence s ON s.seqrelid = c.oid JOIN (${OWN_NAMESPACES}) n ON n.oid = c.relnamespace
  WHERE c.relkind = 'S' AND ${NOT_EXTENSION_MEMBER('pg_class', 'c.oid')}
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'i')
    AND NOT EXISTS (SELECT 1 FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'a' AND n.nspname = 'pgmq' AND t.relname ~ '^[aq]_')
  ORDER BY c.oid`

/** Plain tables the copy recreates (relkind r), minus extension members and queue tables. */
const COPIED_TABLES = `
  SELECT c.oid, n.nspname, c.relname, c.relpersistence FROM pg_class c JOIN (${OWN_NAMESPACES}) n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r' AND NOT c.relispartition AND ${NOT_EXTENSION_MEMBER('pg_class', 'c.oid')} AND NOT ${QUEUE_TABLE}
    AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid)`

const UNSUPPORTED_RELATIONS = `
  SELECT format('%I.%I', n.nspname, c.relname) AS object,
         CASE WHEN c.relkind = 'p' THEN 'partitioned table' WHEN c.relispartition THEN 'partition' ELSE 'inheriting table' END AS what
  FROM pg_class c JOIN (${OWN_NAMESPACES}) n ON n.oid = c.relnamespace
  WHERE ${NOT_EXTENSION_MEMBER('pg_class', 'c.oid')} AND NOT ${QUEUE_TABLE}
    AND (c.relkind = 'p' OR (c.relkind = 'r' AND (c.relispartition OR EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid))))`

const TABLES = `
  SELECT format('%I.%I', t.nspname, t.relname) AS object,
         format('CREATE %sTABLE %I.%I (%s)', CASE WHEN t.relpersistence = 'u' THEN 'UNLOGGED ' ELSE '' END, t.nspname, t.relname,
           coalesce((SELECT string_agg(format('%I %s%s%s', a.attname, format_type(a.atttypid, a.atttypmod),
                      CASE
                        WHEN a.attidentity = 'a' THEN ' GENERATED ALWAYS AS IDENTITY'
                        WHEN a.attidentity = 'd' THEN ' GENERATED BY DEFAULT AS IDENTITY'
                        WHEN a.attgenerated = 's' THEN ' GENERATED ALWAYS AS (' || pg_get_expr(ad.adbin, ad.adrelid) || ') STORED'
                        WHEN ad.adbin IS NOT NULL THEN ' DEFAULT ' || pg_get_expr(ad.adbin, ad.adrelid)
                        ELSE '' END,
                      CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END), ', ' ORDER BY a.attnum)
                     FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
                     WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped), '')) AS sql
  FROM (${COPIED_TABLES}) t
  ORDER BY t.oid`

/** Constraints of copied tables (NOT NULL is part of the column); foreign keys last. */
const CONSTRAINTS = `
  SELECT format('%I.%I.%I', t.nspname, t.relname, con.conname) AS object,
         format('ALTER TABLE %I.%I ADD CONSTRAINT %I %s', t.nspname, t.relname, con.conname, pg_get_constraintdef(con.oid)) AS sql,
         con.contype = 'f' AS foreign_key
  FROM pg_constraint con JOIN (${COPIED_TABLES}) t ON t.oid = con.conrelid
  WHERE con.contype IN ('p', 'u', 'c', 'x', 'f')
  ORDER BY con.contype = 'f', con.oid`

const INDEXES = `
  SELECT format('%I.%I', t.nspname, ic.relname) AS object, pg_get_indexdef(i.indexrelid) AS sql
  FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN (${COPIED_TABLES}) t ON t.oid = i.indrelid
  WHERE NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid)
  ORDER BY i.indexrelid`

const VIEWS = `
  SELECT format('%I.%I', n.nspname, c.relname) AS object,
         CASE c.relkind
           WHEN 'v' THEN format('CREATE VIEW %I.%I AS %s', n.nspname, c.relname, pg_get_viewdef(c.oid))
           ELSE format('CREATE MATERIALIZED VIEW %I.%I AS %s WITH NO DATA', n.nspname, c.relname, rtrim(pg_get_viewdef(c.oid), ';'))
         END AS sql
  FROM pg_class c JOIN (${OWN_NAMESPACES}) n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('v', 'm') AND ${NOT_EXTENSION_MEMBER('pg_class', 'c.oid')}
  ORDER BY c.oid`

/** Triggers on copied tables, and the database's own triggers on extension tables (pgmq.meta). */
const TRIGGERS = `
  SELECT format('%I.%I.%I', n.nspname, c.relname, tg.tgname) AS object, pg_get_triggerdef(tg.oid) AS sql
  FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN (${OWN_NAMESPACES}) n ON n.oid = c.relnamespace
  WHERE NOT tg.tgisinternal AND ${NOT_EXTENSION_MEMBER('pg_trigger', 'tg.oid')} AND NOT ${QUEUE_TABLE}
    AND (c.oid IN (SELECT oid FROM (${COPIED_TABLES}) t) OR NOT ${NOT_EXTENSION_MEMBER('pg_class', 'c.oid')})
  ORDER BY tg.oid`

/** Taken from PUBLIC in the copy, in each of its own schemas (owned by the copying role). */
const PRIVATE_SCHEMAS = `
  SELECT pg_catalog.format(t.template, s.nspname) AS sql
  FROM (${OWN_NAMESPACES}) s,
       (VALUES ('REVOKE ALL ON SCHEMA %I FROM PUBLIC'), ('REVOKE ALL ON ALL ROUTINES IN SCHEMA %I FROM PUBLIC'),
               ('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM PUBLIC'), ('REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM PUBLIC')) t(template)
  ORDER BY s.oid, t.template`

/** Enum, domain, range and stand-alone composite types: USAGE is PUBLIC's by default. */
const PRIVATE_TYPES = `
  SELECT pg_catalog.format('REVOKE ALL ON TYPE %I.%I FROM PUBLIC', n.nspname, t.typname) AS sql
  FROM pg_type t JOIN (${OWN_NAMESPACES}) n ON n.oid = t.typnamespace
  WHERE t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
  ORDER BY t.oid`

/** The database's search_path (tasker-core's functions resolve unqualified names through it). */
const SEARCH_PATH = `
  SELECT substr(cfg, length('search_path=') + 1) AS value
  FROM pg_db_role_setting s, unnest(s.setconfig) cfg
  WHERE s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database()) AND s.setrole = 0
    AND cfg LIKE 'search_path=%'`

export async function copySchema(source: pg.ClientBase, target: pg.ClientBase): Promise<CopyReport> {
  await source.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
  let plan: Awaited<ReturnType<typeof readPlan>>
  try {
    await source.query('SET LOCAL search_path = pg_catalog')
    plan = await readPlan(source)
  } finally {
    await source.query('ROLLBACK')
  }

  await target.query('BEGIN')
  try {
    await target.query('SET LOCAL search_path = pg_catalog')
    // Function bodies refer to tables that may come later; the server checks them when called.
    await target.query('SET LOCAL check_function_bodies = off')
    await target.query('SET LOCAL client_min_messages = warning')
    // What this role creates in the copy from now on (extension members and objects the benches
    // create included) is not PUBLIC's either.
    await target.query('ALTER DEFAULT PRIVILEGES REVOKE ALL ON FUNCTIONS FROM PUBLIC')
    await target.query('ALTER DEFAULT PRIVILEGES REVOKE ALL ON TYPES FROM PUBLIC')
    const counts: Record<string, number> = {}
    await applyUntilDone(target, plan.first, counts)
    await applyUntilDone(target, plan.then, counts)
    for (const query of [PRIVATE_SCHEMAS, PRIVATE_TYPES]) {
      for (const { sql } of (await target.query<{ sql: string }>(query)).rows) await target.query(sql)
    }
    if (plan.searchPath !== undefined) {
      const { rows } = await target.query<{ sql: string }>(SET_SEARCH_PATH, [searchPathElements(plan.searchPath)])
      await target.query(rows[0]!.sql)
      counts.setting = 1
    }
    await target.query('COMMIT')
    return { counts, skipped: plan.skipped }
  } catch (err) {
    await target.query('ROLLBACK').catch(() => {})
    throw err
  }
}

/** Each element a string literal: the server quotes it back as an identifier where it needs to. */
const SET_SEARCH_PATH = `
  SELECT pg_catalog.format('ALTER DATABASE %I SET search_path TO %s', pg_catalog.current_database(),
    (SELECT pg_catalog.string_agg(pg_catalog.quote_literal(e), ', ' ORDER BY i) FROM pg_catalog.unnest($1::text[]) WITH ORDINALITY u(e, i))) AS sql`

/**
 * The schema names of a search_path as the catalog stores it: `tasker, public`, `"$user", public`,
 * `""` (set to ''; as SQL a zero-length identifier, which the server refuses).
 */
export function searchPathElements(stored: string): string[] {
  const elements: string[] = []
  let i = 0
  const skipSpace = () => {
    while (i < stored.length && /\s/.test(stored[i]!)) i++
  }
  for (;;) {
    skipSpace()
    let name = ''
    if (stored[i] === '"') {
      for (i++; ; i++) {
        if (i >= stored.length) throw new Error(`search_path ${JSON.stringify(stored)}: unterminated quoted name`)
        if (stored[i] === '"') {
          if (stored[i + 1] !== '"') break
          i++
        }
        name += stored[i]
      }
      i++
    } else {
      while (i < stored.length && stored[i] !== ',' && !/\s/.test(stored[i]!)) name += stored[i++]
      if (name === '') throw new Error(`search_path ${JSON.stringify(stored)}: empty name at position ${i}`)
    }
    elements.push(name)
    skipSpace()
    if (i >= stored.length) return elements
    if (stored[i] !== ',') throw new Error(`search_path ${JSON.stringify(stored)}: expected a comma at position ${i}`)
    i++
  }
}

async function readPlan(source: pg.ClientBase) {
  const rows = async (kind: string, sql: string) => (await source.query<{ object: string; sql: string }>(sql)).rows.map((r) => ({ kind, object: r.object, sql: r.sql }))
  const constraints = (await source.query<{ object: string; sql: string; foreign_key: boolean }>(CONSTRAINTS)).rows
  const { rows: databaseSettings } = await source.query<{ value: string }>(SEARCH_PATH)
  const skipped = [
    ...(await source.query<{ object: string; what: string }>(UNSUPPORTED_RELATIONS)).rows.map((r) => `${r.object}: ${r.what} (not supported by the copy)`),
    ...(await source.query<{ object: string }>(AGGREGATES)).rows.map((r) => `${r.object}: aggregate (not supported by the copy)`),
  ]
  const first: Statement[] = [
    ...(await rows('extension', EXTENSIONS)),
    ...(await rows('schema', SCHEMAS)),
    ...(await rows('type', TYPES)),
    ...(await rows('sequence', SEQUENCES)),
    ...(await rows('function', FUNCTIONS)),
    ...(await rows('table', TABLES)),
    ...(await rows('view', VIEWS)),
  ]
  const then: Statement[] = [
    ...constraints.filter((c) => !c.foreign_key).map((c) => ({ kind: 'constraint', object: c.object, sql: c.sql })),
    ...(await rows('index', INDEXES)),
    ...constraints.filter((c) => c.foreign_key).map((c) => ({ kind: 'foreign key', object: c.object, sql: c.sql })),
    ...(await rows('trigger', TRIGGERS)),
  ]
  return { first, then, skipped, searchPath: databaseSettings[0]?.value }
}

/**
 * Applies statements in passes: each under a savepoint, failures retried in the next pass while
 * any statement succeeds. Whatever still fails is reported with its object and error.
 */
async function applyUntilDone(target: pg.ClientBase, statements: Statement[], counts: Record<string, number>): Promise<void> {
  let pending = statements
  while (pending.length > 0) {
    const failed: { statement: Statement; error: string }[] = []
    for (const s of pending) {
      await target.query('SAVEPOINT copy_statement')
      try {
        await target.query(s.sql)
        await target.query('RELEASE SAVEPOINT copy_statement')
        counts[s.kind] = (counts[s.kind] ?? 0) + 1
      } catch (err) {
        await target.query('ROLLBACK TO SAVEPOINT copy_statement')
        failed.push({ statement: s, error: (err as Error).message })
      }
    }
    if (failed.length === pending.length) {
      const f = failed[0]!
      throw new Error(
        `copying the schema failed at ${f.statement.kind} ${f.statement.object}: ${f.error}` +
          (failed.length > 1 ? ` (and ${failed.length - 1} more statement(s))` : ''),
      )
    }
    pending = failed.map((f) => f.statement)
  }
}
