/**
 * One way into PostgreSQL: outside harness/db/connect.ts no file of the harness, the bench files
 * or the scripts constructs a node-postgres Client or Pool, so every connection carries the
 * suite's time limits and application_name (connect.ts). The orchestrator (the system under test,
 * with its own pool module) and the suite's own tests are not covered.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { connectPg, newClient, openPool } from '../harness/db/connect.ts'
import type { PgLimits } from '../harness/db/limits.ts'
import { tsFiles } from './support/import-graph.ts'
import { usePostgres } from './support/postgres.ts'

const ROOT = path.resolve(import.meta.dirname, '..')
const SCANNED = ['harness/', 'benchmarks/', 'scripts/']
const THE_ONE_MODULE = 'harness/db/connect.ts'

/** One line per construction of a pg Client or Pool in `source` (`file:line: what`). */
export function directConnections(file: string, source: string): string[] {
  const out: string[] = []
  const lineAt = (index: number) => source.slice(0, index).split('\n').length
  const report = (index: number, what: string) => out.push(`${file}:${lineAt(index)}: ${what}; open connections with harness/db/connect.ts (connectPg, newClient, openPool)`)
  // Names the module's value imports bind: `import pg from 'pg'`, `* as pg`, `{ Client as C }`.
  const namespaces: string[] = []
  const classes: string[] = []
  for (const m of source.matchAll(/^\s*import\s+(?!type\s)([^'";]*?)\s+from\s*['"]pg['"]/gm)) {
    const clause = m[1]!
    const star = /\*\s+as\s+(\w+)/.exec(clause)
    if (star) namespaces.push(star[1]!)
    const dflt = /^\s*(\w+)\s*(?:,|$)/.exec(clause)
    if (dflt) namespaces.push(dflt[1]!)
    const named = /\{([^}]*)\}/.exec(clause)
    for (const part of named ? named[1]!.split(',') : []) {
      const [name, alias] = part.trim().replace(/^type\s+/, '\u0000').split(/\s+as\s+/)
      if (name === 'Client' || name === 'Pool') classes.push((alias ?? name).trim())
    }
  }
  for (const m of source.matchAll(/\b(?:require|import)\(\s*['"](pg|pg-pool)['"]\s*\)|from\s*['"]pg-pool['"]/g)) report(m.index, `loads ${m[1] ?? 'pg-pool'} directly`)
  for (const ns of namespaces) {
    for (const m of source.matchAll(new RegExp(`\\bnew\\s+${ns}\\s*\\.\\s*(Client|Pool)\\b`, 'g'))) report(m.index, `new ${ns}.${m[1]}`)
    // the class taken as a value to be constructed elsewhere (`const C = pg.Client`, `return pg.Pool`)
    for (const m of source.matchAll(new RegExp(`(?:[^=!<>]=|\\breturn)\\s*${ns}\\s*\\.\\s*(Client|Pool)\\b(?!\\s*[<.])`, 'g'))) report(m.index, `${ns}.${m[1]} taken as a value`)
  }
  for (const cls of classes) {
    for (const m of source.matchAll(new RegExp(`\\bnew\\s+${cls}\\b`, 'g'))) report(m.index, `new ${cls} (from 'pg')`)
  }
  return out
}

describe('one way into PostgreSQL', () => {
  test('no file of harness/, benchmarks/ or scripts/ but harness/db/connect.ts constructs a pg Client or Pool', () => {
    const files = tsFiles(ROOT).filter((f) => SCANNED.some((dir) => f.startsWith(dir)))
    expect(files.length).toBeGreaterThan(100)
    const found = files.filter((f) => f !== THE_ONE_MODULE).flatMap((f) => directConnections(f, readFileSync(path.join(ROOT, f), 'utf8')))
    expect(found).toEqual([])
    // …and the one module is where they are made (the scan sees its constructions).
    expect(directConnections(THE_ONE_MODULE, readFileSync(path.join(ROOT, THE_ONE_MODULE), 'utf8'))).toHaveLength(2)
  })
})

describe('the scan', () => {
  test('finds constructions through the default import, a namespace, named classes and aliases', () => {
    expect(directConnections('a.ts', "import pg from 'pg'\n\nconst c = new pg.Client({ connectionString: url })")).toEqual([
      "a.ts:3: new pg.Client; open connections with harness/db/connect.ts (connectPg, newClient, openPool)",
    ])
    expect(directConnections('a.ts', "import * as postgres from 'pg'\nnew postgres.Pool({ max: 2 })")).toHaveLength(1)
    expect(directConnections('a.ts', "import { Client, Pool as P } from 'pg'\nnew Client(x)\nnew P(y)")).toHaveLength(2)
    expect(directConnections('a.ts', "import pg from 'pg'\nconst Ctor = pg.Pool\nconst p = new Ctor()")).toHaveLength(1)
    expect(directConnections('a.ts', "const pg = await import('pg')")).toHaveLength(1)
    expect(directConnections('a.ts', "import Pool from 'pg-pool'")).toHaveLength(1)
  })

  test('lets types, instanceof checks and other libraries’ Pool pass', () => {
    expect(directConnections('a.ts', "import type pg from 'pg'\nlet c: pg.Client\nfunction f(p: pg.Pool | pg.ClientBase): pg.Client {}")).toEqual([])
    expect(directConnections('a.ts', "import pg from 'pg'\nconst m = new Map<string, pg.Client>()\nconst same = a === pg.Pool\nconst isPool = db instanceof pg.Pool\nlet c: pg.Client\nconst x = (db as pg.Pool).connect()")).toEqual([])
    expect(directConnections('a.ts', "import { Pool } from 'undici'\nconst pool = new Pool(origin, {})")).toEqual([])
    expect(directConnections('a.ts', "import { connectPg } from '../db/connect.ts'\nconst c = await connectPg(url, 'x')")).toEqual([])
  })
})

describe('every way out of connect.ts carries the limits and the name', () => {
  const db = usePostgres()
  const limits: PgLimits = { statementTimeoutMs: 4_321, lockTimeoutMs: 1_234, connectTimeoutMs: 5_000, statementVariable: 'BENCH_STATEMENT_TIMEOUT_MS' }
  const SESSION = "SELECT current_setting('statement_timeout') AS st, current_setting('lock_timeout') AS lt, current_setting('application_name') AS app"
  const expected = (purpose: string) => ({ st: '4321ms', lt: '1234ms', app: `tasker-bench ${purpose}` })

  test('connectPg, newClient and openPool: statement_timeout, lock_timeout and application_name on the server', async () => {
    const a = await connectPg(db.server.url, 'one-way a', limits)
    const b = newClient(db.server.url, 'one-way b', limits)
    const pool = openPool(db.server.url, 'one-way pool', limits, { max: 1 })
    try {
      await b.connect()
      expect((await a.query(SESSION)).rows[0]).toEqual(expected('one-way a'))
      expect((await b.query(SESSION)).rows[0]).toEqual(expected('one-way b'))
      expect((await pool.query(SESSION)).rows[0]).toEqual(expected('one-way pool'))
    } finally {
      await Promise.allSettled([a.end(), b.end(), pool.end()])
    }
  })

  test('a pool query past the limit fails naming the purpose and the setting', async () => {
    const pool = openPool(db.server.url, 'one-way sleeper', { ...limits, statementTimeoutMs: 200 }, { max: 1 })
    try {
      await expect(pool.query('SELECT pg_sleep(5)')).rejects.toThrow(/one-way sleeper: a statement ran longer than 200 ms.*BENCH_STATEMENT_TIMEOUT_MS/)
    } finally {
      await pool.end()
    }
  })

  test('an idle connection the server ends does not take the process down; the next query fails', async () => {
    const client = await connectPg(db.server.url, 'one-way victim', limits)
    const pool = openPool(db.server.url, 'one-way idle pool', limits, { max: 1 })
    try {
      const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid
      const poolPid = (await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid
      // (an unhandled 'error' event on either would fail this file as an uncaught exception)
      const ended = new Promise<void>((resolve) => client.once('end', () => resolve()))
      const removed = new Promise<void>((resolve) => pool.once('remove', () => resolve()))
      await db.pool.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [[pid, poolPid]])
      await Promise.all([ended, removed])
      await expect(client.query('SELECT 1')).rejects.toThrow()
      // the pool drops the dead connection and opens another
      expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one).toBe(1)
    } finally {
      await Promise.allSettled([client.end(), pool.end()])
    }
  })
})
