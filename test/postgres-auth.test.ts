/**
 * The embedded PostgreSQL does not trust TCP: a connection to 127.0.0.1 needs the superuser's
 * password (scram-sha-256), a random one per server that only the returned URL carries and no
 * log line repeats. The unix socket, in the run's private directory, still needs none.
 */
import { existsSync, readdirSync, statSync } from 'node:fs'
import path from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startEmbeddedPostgres } from '../harness/main/postgres/embedded.ts'
import type { StartedPostgres } from '../harness/main/postgres/types.ts'

const binDir = process.env.PG_BIN_DIR || undefined
let server: StartedPostgres
const logLines: string[] = []

beforeAll(async () => {
  server = await startEmbeddedPostgres({ binDir, log: (line) => logLines.push(line) })
}, 120_000)
afterAll(async () => {
  await server?.stop()
}, 60_000)

async function tryConnect(config: pg.ClientConfig): Promise<string> {
  const client = new pg.Client({ ...config, connectionTimeoutMillis: 20_000 })
  try {
    await client.connect()
    const { rows } = await client.query<{ user: string }>('SELECT current_user AS "user"')
    return `connected as ${rows[0]!.user}`
  } catch (err) {
    return `refused: ${(err as Error).message}`
  } finally {
    await client.end().catch(() => {})
  }
}

describe('embedded PostgreSQL authentication', () => {
  test('the URL carries a random password and connects', async () => {
    const url = new URL(server.url)
    expect(url.hostname).toBe('127.0.0.1')
    expect(url.username).toBe('postgres')
    expect(url.password.length).toBeGreaterThanOrEqual(24)
    expect(await tryConnect({ connectionString: server.url })).toBe('connected as postgres')
  })

  test('TCP without the password, or with a wrong one, is refused', async () => {
    const { port } = server
    expect(await tryConnect({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' })).toMatch(/^refused: .*(password|SASL)/i)
    expect(await tryConnect({ host: '127.0.0.1', port, user: 'postgres', password: 'postgres', database: 'postgres' })).toMatch(
      /^refused: password authentication failed/,
    )
  })

  test('every TCP rule of pg_hba.conf is scram-sha-256, and the stored password is a SCRAM verifier', async () => {
    const client = new pg.Client({ connectionString: server.url })
    await client.connect()
    try {
      const rules = await client.query<{ type: string; auth_method: string }>('SELECT type, auth_method FROM pg_hba_file_rules')
      const tcp = rules.rows.filter((r) => r.type.startsWith('host'))
      expect(tcp.length).toBeGreaterThan(0)
      for (const r of tcp) expect(r.auth_method).toBe('scram-sha-256')
      const verifier = await client.query<{ p: string }>("SELECT rolpassword AS p FROM pg_authid WHERE rolname = 'postgres'")
      expect(verifier.rows[0]!.p).toMatch(/^SCRAM-SHA-256\$/)
    } finally {
      await client.end()
    }
  })

  test('the unix socket (private directory) still connects without a password', async () => {
    expect(server.socketDir).toBeDefined()
    expect(statSync(server.socketDir!).mode & 0o077).toBe(0)
    expect(await tryConnect({ host: server.socketDir, port: server.port, user: 'postgres', database: 'postgres' })).toBe('connected as postgres')
  })

  test('the password appears in no log line, no error text and no file left beside the data', async () => {
    const password = new URL(server.url).password
    expect(logLines.length).toBeGreaterThan(0)
    for (const line of logLines) expect(line).not.toContain(password)
    expect(server.logTail?.() ?? '').not.toContain(password)
    const { url: _url, ...rest } = server
    expect(JSON.stringify(rest)).not.toContain(password)
    expect(existsSync(path.join(server.socketDir!, 'pwfile'))).toBe(false)
    expect(readdirSync(server.socketDir!).sort()).not.toContain('pwfile')
  })

  test('each server gets its own password', async () => {
    const other = await startEmbeddedPostgres({ binDir })
    try {
      expect(new URL(other.url).password).not.toBe(new URL(server.url).password)
      // and one server's password does not open the other
      const crossed = new URL(other.url)
      crossed.password = new URL(server.url).password
      expect(await tryConnect({ connectionString: crossed.toString() })).toMatch(/^refused: password authentication failed/)
    } finally {
      await other.stop()
    }
  }, 120_000)
})
