/**
 * The global setup applies the set-up time limits before it opens its first connection, so every
 * session of the main process (its own and its modules') carries them (issue 21, item 12). Its own
 * file: the setup's teardown stops everything registered for cleanup in the process, this file's
 * server included.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { afterAll, describe, expect, test } from 'vitest'
import type { TestProject } from 'vitest/node'
import globalSetup from '../harness/main/global-setup.ts'
import { processPgLimits } from '../harness/db/limits.ts'
import { withClient } from '../harness/db/with-client.ts'
import { migrateTasker, usePostgres } from './support/postgres.ts'

const ROOT = path.resolve(import.meta.dirname, '..')
const db = usePostgres(migrateTasker)

const show = async (client: pg.Client) =>
  (await client.query<{ statement: string; lock: string }>(`SELECT current_setting('statement_timeout') AS statement, current_setting('lock_timeout') AS lock`)).rows[0]!

describe('the global setup', () => {
  const VARIABLES = {
    BENCH_POSTGRES: 'external',
    BENCH_ORCHESTRATOR: 'off',
    BENCH_TRACES: 'off',
    BENCH_PROFILE: 'smoke',
    BENCH_ENV_FILE: '.env.example',
    BENCH_LOCK_TIMEOUT_MS: '1234',
    BENCH_SETUP_STATEMENT_TIMEOUT_MS: '56789',
    BENCH_CONNECT_TIMEOUT_MS: '4321',
  }
  const resultsDir = mkdtempSync(path.join(os.tmpdir(), 'tasker-bench-wiring-'))
  afterAll(() => rmSync(resultsDir, { recursive: true, force: true }))

  test('gives every connection opened after it the set-up limits (BENCH_SETUP_STATEMENT_TIMEOUT_MS, BENCH_LOCK_TIMEOUT_MS, BENCH_CONNECT_TIMEOUT_MS)', async () => {
    const env = { ...VARIABLES, DATABASE_URL: db.server.url, BENCH_RESULTS_DIR: resultsDir }
    const before = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]))
    Object.assign(process.env, env)
    // The parts of Vitest's project the global setup uses; everything it starts is real.
    const provided: Record<string, unknown> = {}
    const project = { config: { root: ROOT }, vitest: { cancelCurrentRun: () => {} }, provide: (key: string, value: unknown) => void (provided[key] = value) }
    let teardown: (() => Promise<void>) | undefined
    try {
      teardown = await globalSetup(project as unknown as TestProject)
      expect(provided.run).toMatchObject({ targetDatabaseUrl: db.server.url, writable: false })
      // A plain client, as the setup's modules open them, and withClient.
      const plain = new pg.Client({ connectionString: db.server.url })
      await plain.connect()
      try {
        expect(await show(plain)).toEqual({ statement: '56789ms', lock: '1234ms' })
      } finally {
        await plain.end()
      }
      expect(await withClient(db.server.url, show)).toEqual({ statement: '56789ms', lock: '1234ms' })
      expect(processPgLimits()).toMatchObject({ connectTimeoutMs: 4321, statementVariable: 'BENCH_SETUP_STATEMENT_TIMEOUT_MS' })
    } finally {
      await teardown?.()
      for (const [k, v] of Object.entries(before)) {
        if (v === undefined) delete process.env[k]
        else process.env[k] = v
      }
    }
  })
})
