/**
 * The container path for real, where an engine answers (skipped, with the reason in the title,
 * where none does; .ci/container-stage.sh runs this file after starting one):
 * the locally built PostgreSQL image through Testcontainers, and the compose orchestrator —
 * against the run's database (two orchestration replicas on one port) and with its own
 * PostgreSQL — completing a task.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { installPgmq } from '../orchestrator/index.ts'
import { containerRunId, RUN_LABEL, startContainerPostgres } from '../harness/main/postgres/container.ts'
import type { StartedPostgres } from '../harness/main/postgres/types.ts'
import {
  findComposeTool,
  ORCHESTRATOR_IMAGE,
  POSTGRES_IMAGE,
  startComposeOrchestrator,
  type ComposeOrchestrator,
} from '../harness/main/orchestrator/compose.ts'
import { createTaskerClient } from '../harness/tasker/api-client.ts'
import { loadWorkflows, taskRequest } from '../harness/bench/tasker/workflows.ts'
import { containersWithLabel, imageExists, probeEngine } from '../scripts/container/engine-probe.ts'
import { migrateTasker, usePostgres } from './support/postgres.ts'

const ROOT = path.resolve(import.meta.dirname, '..')
// The engine is local: reach mapped ports on loopback. (Testcontainers would pick the bridge
// gateway where /.dockerenv exists, as on this project's machines, and engine.sh's dockerd
// publishes on 127.0.0.1 only.)
process.env.TESTCONTAINERS_HOST_OVERRIDE ??= 'localhost'
const engine = probeEngine()
const pgImage = engine.ok && imageExists(POSTGRES_IMAGE)
const orchestratorImage = engine.ok && imageExists(ORCHESTRATOR_IMAGE)
/** Built only from a pgmq checkout (PGMQ_SOURCE_DIR), so usually absent on CI. */
const PGMQ_IMAGE = 'tasker-bench/postgres:15-pgmq-local'
const pgmqImage = engine.ok && imageExists(PGMQ_IMAGE)
const BUILD = 'run scripts/container/build-images.sh'
const title = (what: string, ok: boolean, why: string) => (ok ? what : `${what} (skipped: ${why})`)
if (!engine.ok) console.warn(`[container-engine.test] skipped: ${engine.why} (scripts/container/engine.sh starts one)`)
else if (!pgImage || !orchestratorImage) console.warn(`[container-engine.test] image tests skipped: local images missing (${BUILD})`)

/** Waits (bounded) until the container's health check reports healthy. */
async function waitForHealthy(id: string): Promise<void> {
  const deadline = Date.now() + 60_000
  let status = ''
  while (Date.now() < deadline) {
    status = execFileSync('docker', ['inspect', '--format', '{{.State.Health.Status}}', id], { encoding: 'utf8' }).trim()
    if (status === 'healthy') return
    await new Promise((r) => setTimeout(r, 250))
  }
  throw new Error(`container ${id.slice(0, 12)} is ${status}, not healthy, after 60 s`)
}

/** Creates a linear task over the API and waits (bounded) until the orchestrator reports it complete. */
async function completeOneTask(url: string): Promise<void> {
  const api = createTaskerClient(url, 2)
  try {
    const created = await api.createTask(taskRequest(loadWorkflows(path.join(ROOT, 'fixtures/templates')).linear))
    const deadline = Date.now() + 60_000
    let view = created
    while (view.execution_status !== 'all_complete' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200))
      view = await api.getTask(created.task_uuid)
    }
    expect(view.execution_status).toBe('all_complete')
    expect(view.completed_steps).toBe(view.total_steps)
  } finally {
    await api.close()
  }
}

describe.skipIf(!engine.ok)(title('with a container engine', engine.ok, engine.why), () => {
  test('compose mode names a missing image and the script that builds it', async () => {
    await expect(
      startComposeOrchestrator({ workers: 1, orchestratorImage: 'tasker-bench/not-built:never', databaseUrl: 'postgres://x@127.0.0.1:1/x' }),
    ).rejects.toThrow(/image tasker-bench\/not-built:never is not present locally.*scripts\/container\/build-images\.sh/)
  })

  test('a compose tool is installed (v2 plugin or v1 docker-compose)', async () => {
    const tool = await findComposeTool()
    expect(tool?.version).toMatch(/^\d+\.\d+/)
  })

  describe.skipIf(!pgImage)(title(`${POSTGRES_IMAGE} through Testcontainers`, pgImage, `image missing: ${BUILD}`), () => {
    let server: StartedPostgres
    beforeAll(async () => {
      server = await startContainerPostgres(POSTGRES_IMAGE)
    }, 120_000)
    afterAll(async () => {
      await server?.stop()
    }, 60_000)

    test('serves PostgreSQL 15 with the credentials PostgreSqlContainer set, and takes the pgmq-compatible SQL', async () => {
      const client = new pg.Client({ connectionString: server.url })
      await client.connect()
      try {
        const { rows } = await client.query<{ v: string; db: string; user: string }>('SELECT current_setting($1) v, current_database() db, current_user "user"', ['server_version'])
        expect(rows[0]!.v).toMatch(/^15\./)
        expect(rows[0]!.db).toBe(new URL(server.url).pathname.slice(1))
        expect(rows[0]!.user).toBe(new URL(server.url).username)
        expect((await installPgmq(client)).kind).toBe('compatible')
        await client.query(`SELECT pgmq.create('container_test')`)
        await client.query(`SELECT pgmq.send('container_test', '{"n":1}')`)
        const read = await client.query<{ message: { n: number } }>(`SELECT message FROM pgmq.read('container_test', 30, 1)`)
        expect(read.rows[0]!.message).toEqual({ n: 1 })
      } finally {
        await client.end()
      }
    })

    test(`the container carries the run's label (${RUN_LABEL}=<BENCH_RUN_ID>)`, () => {
      const labelled = execFileSync('docker', ['ps', '-q', '--filter', `label=${RUN_LABEL}=${containerRunId()}`, '--filter', `ancestor=${POSTGRES_IMAGE}`], { encoding: 'utf8' })
      expect(labelled.trim().split('\n').filter(Boolean).length).toBeGreaterThanOrEqual(1)
    })

    test('TCP connections need the password', async () => {
      const url = new URL(server.url)
      url.password = 'wrong'
      const client = new pg.Client({ connectionString: url.toString() })
      await expect(client.connect()).rejects.toThrow(/password authentication failed/)
    })
  })

  describe.skipIf(!pgmqImage)(title(`${PGMQ_IMAGE} (the real pgmq extension) through Testcontainers`, pgmqImage, `image missing: PGMQ_SOURCE_DIR=<pgmq checkout> ${BUILD} postgres`), () => {
    let server: StartedPostgres
    beforeAll(async () => {
      server = await startContainerPostgres(PGMQ_IMAGE)
    }, 180_000)
    afterAll(async () => {
      await server?.stop()
    }, 60_000)

    test('the suite finds the extension the image was built with and uses it, not the compatible layer', async () => {
      const built = execFileSync('docker', ['image', 'inspect', '--format', '{{index .Config.Labels "tasker-bench.pgmq"}}', PGMQ_IMAGE], { encoding: 'utf8' }).trim()
      expect(built).toMatch(/^\d+\.\d+\.\d+$/)
      const client = new pg.Client({ connectionString: server.url })
      await client.connect()
      try {
        expect(await installPgmq(client)).toEqual({ kind: 'extension', version: built })
        await client.query(`SELECT pgmq.create('container_pgmq_test')`)
        await client.query(`SELECT pgmq.send('container_pgmq_test', '{"n":2}')`)
        const read = await client.query<{ message: { n: number } }>(`SELECT message FROM pgmq.read('container_pgmq_test', 30, 1)`)
        expect(read.rows[0]!.message).toEqual({ n: 2 })
      } finally {
        await client.end()
      }
    })
  })

  describe.skipIf(!pgImage)(title('scripts/container/remove-run.sh', pgImage, `image missing: ${BUILD}`), () => {
    const created: string[] = []
    const create = (labels: string[]) => {
      const id = execFileSync('docker', ['create', ...labels.flatMap((l) => ['--label', l]), POSTGRES_IMAGE], { encoding: 'utf8' }).trim()
      created.push(id)
      return id
    }
    afterAll(() => {
      for (const id of created) spawnSync('docker', ['rm', '-f', id], { stdio: 'ignore', timeout: 30_000 })
    })

    test("removes the run's containers and no one else's Testcontainers containers", () => {
      const run = `remove-run-test-${process.pid}`
      const ours = create([`${RUN_LABEL}=${run}`, 'org.testcontainers=true'])
      const otherRun = create([`${RUN_LABEL}=${run}-other`, 'org.testcontainers=true'])
      const someoneElses = create(['org.testcontainers=true'])
      const out = execFileSync('bash', [path.join(ROOT, 'scripts/container/remove-run.sh'), run], { encoding: 'utf8' })
      expect(out).toContain(`removing container ${ours.slice(0, 12)}`)
      const left = execFileSync('docker', ['ps', '-aq', '--no-trunc', '--filter', 'label=org.testcontainers=true'], { encoding: 'utf8' }).split('\n')
      expect(left).not.toContain(ours)
      expect(left).toEqual(expect.arrayContaining([otherRun, someoneElses]))
    })
  })

  describe.skipIf(!orchestratorImage)(title('compose orchestrator against the run’s database', orchestratorImage, `image missing: ${BUILD}`), () => {
    const db = usePostgres(migrateTasker)
    let started: ComposeOrchestrator
    let logDir: string
    beforeAll(async () => {
      // Made here, not at collection: a skipped describe still collects but never runs afterAll.
      logDir = mkdtempSync(path.join(os.tmpdir(), 'tasker-compose-test-'))
      started = await startComposeOrchestrator({ orchestrators: 2, workers: 2, databaseUrl: db.server.url, logDir, env: { TASKER_POLL_INTERVAL_MS: '250' } })
    }, 240_000)
    afterAll(async () => {
      await started?.stop()
      if (logDir) rmSync(logDir, { recursive: true, force: true })
    }, 60_000)

    test('completes a task with two orchestration and two worker containers, each one’s output in its own log file', async () => {
      expect(started.databaseUrl).toBe(db.server.url)
      const project = containersWithLabel(`com.docker.compose.project=${started.projectName}`)
      expect(project).toHaveLength(4)
      expect(containersWithLabel(`${RUN_LABEL}=${containerRunId()}`)).toEqual(expect.arrayContaining(project))
      await completeOneTask(started.url)
      const logs = readdirSync(logDir)
      expect(logs.filter((f) => /^orchestration-[0-9a-f]{8}\.log$/.test(f))).toHaveLength(2)
      expect(logs.filter((f) => /^worker-[0-9a-f]{8}\.log$/.test(f))).toHaveLength(2)
    }, 120_000)

    test('both orchestration replicas hold the one port: each is healthy, and either alone serves', async () => {
      const project = containersWithLabel(`com.docker.compose.project=${started.projectName}`)
      const replicas = containersWithLabel('com.docker.compose.service=orchestration').filter((id) => project.includes(id))
      expect(replicas).toHaveLength(2)
      // Each replica's health check asks that a process of its own container listens on the port.
      for (const id of replicas) await waitForHealthy(id)
      // With the first stopped, what answers on the port is the second.
      execFileSync('docker', ['stop', '--time', '5', replicas[0]!])
      await completeOneTask(started.url)
    }, 120_000)

    test('stop removes every container of the project', async () => {
      const project = started.projectName
      await started.stop()
      expect(containersWithLabel(`com.docker.compose.project=${project}`)).toEqual([])
    })
  })

  describe.skipIf(!orchestratorImage || !pgImage)(title('compose orchestrator with its own PostgreSQL', orchestratorImage && pgImage, `images missing: ${BUILD}`), () => {
    let started: ComposeOrchestrator
    beforeAll(async () => {
      // Two replicas starting at once against an empty database: the migrations serialise themselves.
      started = await startComposeOrchestrator({ orchestrators: 2, workers: 1 })
    }, 240_000)
    afterAll(async () => {
      await started?.stop()
    }, 60_000)

    test('migrates its database and completes a task', async () => {
      expect(started.databaseUrl).toMatch(/^postgres:\/\/tasker:[0-9a-f]+@127\.0\.0\.1:\d+\/tasker$/)
      expect(containersWithLabel(`com.docker.compose.project=${started.projectName}`)).toHaveLength(4) // postgres, 2 orchestration, 1 worker
      await completeOneTask(started.url)
      const client = new pg.Client({ connectionString: started.databaseUrl })
      await client.connect()
      try {
        const { rows } = await client.query<{ n: string }>('SELECT count(*) n FROM tasker.tasks WHERE complete')
        expect(Number(rows[0]!.n)).toBe(1)
      } finally {
        await client.end()
      }
    }, 120_000)

    test('stop removes its containers and network', async () => {
      const project = started.projectName
      await started.stop()
      expect(containersWithLabel(`com.docker.compose.project=${project}`)).toEqual([])
      const networks = execFileSync('docker', ['network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${project}`], { encoding: 'utf8' })
      expect(networks.trim()).toBe('')
    })
  })
})
