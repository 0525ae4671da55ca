/**
 * Orchestration replicas on one port (TASKER_REUSE_PORT=true, SO_REUSEPORT): what
 * `docker-compose up --scale orchestration=N` relies on, since its replicas share the host's
 * network and one TASKER_PORT. Two real orchestration processes (each with a worker) against one
 * database bind the same port; each serves. No race decides the outcome: the first answers before
 * the second exists, and the second answers after the first has exited. Without the option the
 * second process cannot start.
 */
import http from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startEmbeddedOrchestrator, type EmbeddedOrchestrator } from '../harness/main/orchestrator/embedded.ts'
import { freePort } from '../harness/main/net/free-port.ts'
import { ConfigError, loadOrchestrationConfig } from '../orchestrator/index.ts'
import { createTask, taskBody, TEST_ENV, waitForTasks } from './support/orchestrator.ts'
import { usePostgres } from './support/postgres.ts'

describe('TASKER_REUSE_PORT', () => {
  const base = { DATABASE_URL: 'postgres://tasker@127.0.0.1:5432/tasker' }

  test('is off by default, and takes true or false', () => {
    expect(loadOrchestrationConfig(base).reusePort).toBe(false)
    expect(loadOrchestrationConfig({ ...base, TASKER_REUSE_PORT: 'true' }).reusePort).toBe(true)
    expect(loadOrchestrationConfig({ ...base, TASKER_REUSE_PORT: 'false' }).reusePort).toBe(false)
  })

  test('anything else is refused, naming the variable and what is accepted', () => {
    expect(() => loadOrchestrationConfig({ ...base, TASKER_REUSE_PORT: 'yes please' })).toThrow(ConfigError)
    expect(() => loadOrchestrationConfig({ ...base, TASKER_REUSE_PORT: 'yes please' })).toThrow('TASKER_REUSE_PORT=yes please is not a boolean (expected true or false)')
  })
})

/** GET /health on a new connection (no pooled socket of a process that is gone). */
function health(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${url}/health`, { agent: false, timeout: 10_000 }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('timeout', () => req.destroy(new Error('GET /health timed out')))
    req.on('error', reject)
  })
}

describe('two orchestration processes on one port', () => {
  const db = usePostgres()
  const started: EmbeddedOrchestrator[] = []
  const logDirs: string[] = []
  let port: number

  const start = (env: Record<string, string>) => {
    const logDir = mkdtempSync(path.join(os.tmpdir(), 'tasker-reuse-port-test-'))
    logDirs.push(logDir)
    return startEmbeddedOrchestrator({ databaseUrl: db.server.url, workers: 1, logDir, env: { ...TEST_ENV, TASKER_PORT: String(port), ...env } }).then((o) => {
      started.push(o)
      return o
    })
  }

  beforeAll(async () => {
    port = await freePort()
  })
  afterAll(async () => {
    for (const o of started) await o.stop()
    for (const dir of logDirs) rmSync(dir, { recursive: true, force: true })
  }, 60_000)

  test('with TASKER_REUSE_PORT=true both bind it, and each one serves', async () => {
    // Started one after the other: the first applies the migrations.
    const first = await start({ TASKER_REUSE_PORT: 'true' })
    const second = await start({ TASKER_REUSE_PORT: 'true' })
    const url = `http://127.0.0.1:${port}`
    expect([first.url, second.url]).toEqual([url, url])
    expect(first.orchestrations[0]!.pid).not.toBe(second.orchestrations[0]!.pid)
    // The first answered its launcher's health check before the second existed. Now it exits:
    // whatever answers on the port afterwards is the second, which had bound it alongside.
    await first.stop()
    expect(await health(url)).toBe(200)
    const task = await createTask(url, taskBody('linear'))
    await waitForTasks(db, [task])
  }, 120_000)

  test('without it, a second process on the taken port fails to start, saying why', async () => {
    await expect(start({})).rejects.toThrow(`cannot listen on 127.0.0.1:${port}: the port is in use`)
  }, 60_000)
})
