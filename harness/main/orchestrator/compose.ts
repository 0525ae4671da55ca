/**
 * Compose mode: the reference orchestrator as containers — orchestrator/docker/docker-compose.yml
 * brought up through Testcontainers' DockerComposeEnvironment: N orchestration replicas and M
 * workers, against the run's own database (`databaseUrl`) or the compose file's PostgreSQL.
 * The replicas coordinate through the database and share one port (SO_REUSEPORT, see the compose
 * file), so the API has one URL however many there are.
 *
 * Testcontainers 12 drives `docker compose` (the v2 plugin) by default; it drives the standalone
 * `docker-compose` (v1, the only one Debian ships) when told `executable: { standalone: true }`,
 * so whichever of the two is installed is used (v2 preferred). Ryuk is not used (its image may not
 * be available): everything is stopped here, registered with onCleanup (also on Ctrl-C), with a
 * synchronous `down` as the last resort on a hard exit.
 *
 * All services use the host's network and bind 127.0.0.1 (see the compose file), so a database on
 * 127.0.0.1 — the embedded one, or a Testcontainers one on its mapped port — is reachable from the
 * containers at the same URL as from here. Container output goes to files in `logDir` (mounted).
 */
import { execFile, execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as delay } from 'node:timers/promises'
import { promisify } from 'node:util'
import { DockerComposeEnvironment } from 'testcontainers'
import { DOCKER_DIR } from '../../../orchestrator/index.ts'
import { onCleanup } from '../cleanup.ts'
import { freePort } from '../net/free-port.ts'
import { containerRunId, imageStatus } from '../postgres/container.ts'
import { checkOrchestrator } from './external.ts'

const run = promisify(execFile)

export const COMPOSE_DIR = DOCKER_DIR
export const COMPOSE_FILE = path.join(COMPOSE_DIR, 'docker-compose.yml')
const BUILD_SCRIPT = fileURLToPath(new URL('../../../scripts/container/build-images.sh', import.meta.url))
export const ORCHESTRATOR_IMAGE = 'tasker-bench/orchestrator:local'
export const POSTGRES_IMAGE = 'tasker-bench/postgres:15-local'
export const JAEGER_IMAGE = 'jaegertracing/all-in-one:1.60.0'

const BUILD_ADVICE = 'build it with scripts/container/build-images.sh (no registry needed)'
const ENGINE_ADVICE = 'start one with scripts/container/engine.sh, or use BENCH_ORCHESTRATOR=embedded'
const DEFAULT_STARTUP_TIMEOUT_MS = 180_000
const HEALTH_TIMEOUT_MS = 30_000
const DOWN_TIMEOUT_S = 5
const UP_SETTLE_MS = 20_000
/** The line a worker logs once it serves its queues (orchestrator/src/worker/main.ts). */
const WORKER_READY = /\] worker \S+ ready\b/
/** The line an orchestration replica logs once it serves (orchestrator/src/orchestration/main.ts). */
const ORCHESTRATION_READY = /\] orchestration listening on /

export interface ComposeOrchestratorOptions {
  /** Worker replicas (`--scale worker=N`), 1..32. */
  workers: number
  /** Orchestration replicas (`--scale orchestration=N`), 1..8; default 1. */
  orchestrators?: number
  log?: (line: string) => void
  /**
   * The run's database, already prepared (pgmq + tasker schema), reachable from this machine at
   * 127.0.0.1/localhost. When absent, the compose file's PostgreSQL is started (on a free port)
   * and the orchestration service applies the migrations to it.
   */
  databaseUrl?: string
  /** Where the containers' output goes (<logDir>/orchestration-<id>.log, worker-<id>.log); default a temp dir. */
  logDir?: string
  /** OTLP/HTTP base URL the containers export spans to (127.0.0.1 works: host network); unset → tracing off. */
  otlpEndpoint?: string
  /** Task templates to serve (mounted read-only); default: the ones baked into the image (fixtures/templates). */
  templatesDir?: string
  /** Extra environment for the orchestration and worker containers (TASKER_VISIBILITY_TIMEOUT_S, …). */
  env?: Record<string, string>
  /** Also start the compose file's Jaeger (profile `tracing`); its image must be present locally. */
  jaeger?: boolean
  orchestratorImage?: string
  postgresImage?: string
  jaegerImage?: string
  /** Bound on bringing everything up (default 180 s). */
  startupTimeoutMs?: number
}

export interface ComposeOrchestrator {
  /** http://127.0.0.1:<port> of the orchestration API */
  url: string
  /** the database the containers use (the given one, or the compose file's PostgreSQL) */
  databaseUrl: string
  projectName: string
  workers: number
  orchestrators: number
  tool: ComposeTool
  logDir: string
  /** Jaeger's UI/query base URL when `jaeger` was asked for */
  jaegerUrl: string | undefined
  stop(): Promise<void>
}

export interface ComposeTool {
  /** how to call it: `docker compose …` or `docker-compose …` */
  command: 'docker compose' | 'docker-compose'
  version: string
}

/** The compose tool installed here: the v2 plugin if present, else the standalone v1 `docker-compose`. */
export async function findComposeTool(): Promise<ComposeTool | undefined> {
  const probe = async (file: string, args: string[]) => {
    try {
      const { stdout } = await run(file, args, { timeout: 15_000 })
      return stdout.trim().replace(/^v/, '')
    } catch {
      return undefined
    }
  }
  const v2 = await probe('docker', ['compose', 'version', '--short'])
  if (v2) return { command: 'docker compose', version: v2 }
  const v1 = await probe('docker-compose', ['version', '--short'])
  if (v1) return { command: 'docker-compose', version: v1 }
  return undefined
}

/** Throws, with what to do, unless an engine answers and every image is present locally. */
export async function checkComposePrerequisites(images: { image: string; advice: string }[]): Promise<ComposeTool> {
  for (const { image, advice } of images) {
    const status = await imageStatus(image)
    if (!status.runtime) throw new Error(`BENCH_ORCHESTRATOR=compose: ${status.why}; ${ENGINE_ADVICE}`)
    if (!status.present) throw new Error(`BENCH_ORCHESTRATOR=compose: image ${image} is not present locally (and no registry may be reachable); ${advice}`)
  }
  const tool = await findComposeTool()
  if (!tool) {
    throw new Error(
      'BENCH_ORCHESTRATOR=compose: neither `docker compose` (v2 plugin) nor `docker-compose` (v1) is installed; ' +
        'install one (Debian: apt-get install docker-compose; scripts/container/engine.sh does), or use BENCH_ORCHESTRATOR=embedded',
    )
  }
  return tool
}

export async function startComposeOrchestrator(opts: ComposeOrchestratorOptions): Promise<ComposeOrchestrator> {
  if (!Number.isInteger(opts.workers) || opts.workers < 1 || opts.workers > 32) throw new Error(`workers must be a whole number 1..32 (got ${opts.workers})`)
  const orchestrators = opts.orchestrators ?? 1
  if (!Number.isInteger(orchestrators) || orchestrators < 1 || orchestrators > 8) throw new Error(`orchestrators must be a whole number 1..8 (got ${orchestrators})`)
  const log = opts.log ?? (() => {})
  const orchestratorImage = opts.orchestratorImage ?? ORCHESTRATOR_IMAGE
  const postgresImage = opts.postgresImage ?? POSTGRES_IMAGE
  const jaegerImage = opts.jaegerImage ?? JAEGER_IMAGE
  const ownPostgres = opts.databaseUrl === undefined
  const tool = await checkComposePrerequisites([
    { image: orchestratorImage, advice: BUILD_ADVICE },
    ...(ownPostgres ? [{ image: postgresImage, advice: BUILD_ADVICE }] : []),
    ...(opts.jaeger ? [{ image: jaegerImage, advice: `pull it (docker pull ${jaegerImage}) where a registry is reachable, or run without Jaeger` }] : []),
  ])

  // Only the images build-images.sh makes carry the hash of their sources.
  await warnIfStale(
    [...(ownPostgres && postgresImage === POSTGRES_IMAGE ? ['postgres'] : []), ...(orchestratorImage === ORCHESTRATOR_IMAGE ? ['orchestrator'] : [])],
    log,
  )

  const t0 = performance.now()
  const projectName = `tasker-bench-${process.pid}-${randomBytes(3).toString('hex')}`
  const apiPort = await freePort()
  const pgPort = ownPostgres ? await freePort() : undefined
  const pgPassword = randomBytes(12).toString('hex')
  const databaseUrl = opts.databaseUrl ?? `postgres://tasker:${pgPassword}@127.0.0.1:${pgPort}/tasker`
  const jaegerPorts = opts.jaeger ? { ui: await freePort(), otlp: await freePort() } : undefined
  const otlpEndpoint = opts.otlpEndpoint ?? (jaegerPorts ? `http://127.0.0.1:${jaegerPorts.otlp}` : '')

  const ownLogDir = opts.logDir === undefined
  const logDir = opts.logDir ?? mkdtempSync(path.join(os.tmpdir(), 'tasker-bench-compose-logs-'))
  mkdirSync(logDir, { recursive: true })
  const logsBefore = logSizes(logDir)
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'tasker-bench-compose-'))
  const overlayFile = path.join(workDir, 'docker-compose.run.yml')
  writeFileSync(overlayFile, JSON.stringify(runOverlay(logDir, opts.templatesDir, opts.env ?? {}), null, 2))
  const files = [COMPOSE_FILE, overlayFile]

  // What the compose file interpolates. Set explicitly (an empty value switches tracing off), so
  // the shell's DATABASE_URL or OTEL_* do not leak into what is measured.
  const composeEnv: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    TASKER_PORT: String(apiPort),
    TASKER_PG_PORT: String(pgPort ?? 55432),
    TASKER_PG_PASSWORD: pgPassword,
    TASKER_ORCHESTRATOR_IMAGE: orchestratorImage,
    TASKER_PG_IMAGE: postgresImage,
    JAEGER_IMAGE: jaegerImage,
    JAEGER_UI_PORT: String(jaegerPorts?.ui ?? 16686),
    JAEGER_OTLP_PORT: String(jaegerPorts?.otlp ?? 4318),
    OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint,
    // the run's label on every container and network (see RUN_LABEL)
    TASKER_BENCH_RUN: containerRunId(),
  }
  const down = composeDown(tool, projectName, files, composeEnv)

  // `docker-compose up` in flight: a stop waits for it (bounded), so containers it is still
  // creating are not left behind by a `down` that ran before they existed.
  let upInFlight: Promise<unknown> | undefined
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    try {
      if (upInFlight) await Promise.race([upInFlight.catch(() => {}), delay(UP_SETTLE_MS)])
      await down.async()
    } finally {
      rmSync(workDir, { recursive: true, force: true })
      if (ownLogDir) rmSync(logDir, { recursive: true, force: true })
    }
  }
  // Registered before `up`, so a Ctrl-C while containers start removes them too.
  const unregister = onCleanup(`compose project ${projectName}`, stop, () => {
    if (!stopped) down.sync()
  })

  const environment = new DockerComposeEnvironment(COMPOSE_DIR, files)
    .withProjectName(projectName)
    .withAutoCleanup(false)
    .withEnvironment(composeEnv)
    .withStartupTimeout(opts.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS)
  if (opts.jaeger) environment.withProfiles('tracing')
  const executable = tool.command === 'docker-compose' ? { executable: { standalone: true as const } } : {}
  const { orchestration: scaleOrchestration, worker: scaleWorkers } = scaleOptions(orchestrators, opts.workers)
  const up = (services: string[] | undefined, commandOptions: string[]) => {
    environment.withClientOptions({ ...executable, commandOptions })
    upInFlight = environment.up(services)
    return upInFlight
  }

  try {
    await withDeadline(opts.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS, down.async, async () => {
      if (ownPostgres) {
        await up(undefined, [...scaleOrchestration, ...scaleWorkers])
      } else {
        // No PostgreSQL service: --no-deps, so orchestration first (it must be healthy before the
        // workers, which the compose file's depends_on would otherwise ensure), then the workers.
        await up(['orchestration', ...(opts.jaeger ? ['jaeger'] : [])], ['--no-deps', ...scaleOrchestration])
        await up(['worker'], ['--no-deps', ...scaleWorkers])
      }
    })
    upInFlight = undefined
    const url = `http://127.0.0.1:${apiPort}`
    await waitForHealth(url)
    await waitForReady(logDir, 'orchestration', orchestrators, logsBefore)
    await waitForReady(logDir, 'worker', opts.workers, logsBefore)
    const replicas = orchestrators > 1 ? `${orchestrators} orchestration replicas (one port, SO_REUSEPORT) and ` : ''
    log(
      `orchestrator: compose project ${projectName} (${tool.command} ${tool.version}) at ${url} with ${replicas}${opts.workers} worker(s)` +
        `${ownPostgres ? `, its own PostgreSQL on 127.0.0.1:${pgPort}` : ''} in ${(performance.now() - t0).toFixed(0)} ms; logs in ${logDir}`,
    )
    return {
      url,
      databaseUrl,
      projectName,
      workers: opts.workers,
      orchestrators,
      tool,
      logDir,
      jaegerUrl: jaegerPorts ? `http://127.0.0.1:${jaegerPorts.ui}` : undefined,
      async stop() {
        await stop()
        unregister()
      },
    }
  } catch (err) {
    const detail = logTails(logDir)
    await stop().catch(() => {})
    unregister()
    throw new Error(`BENCH_ORCHESTRATOR=compose: ${tool.command} could not bring up ${projectName}: ${oneLine(err)}${detail}`)
  }
}

/**
 * An image built from other sources than the checkout now holds would measure old code: say so
 * (build-images.sh --check compares the hash of its inputs with the one stored in the image).
 */
async function warnIfStale(targets: string[], log: (line: string) => void): Promise<void> {
  if (targets.length === 0 || !existsSync(BUILD_SCRIPT)) return
  try {
    await run('bash', [BUILD_SCRIPT, '--check', ...targets], { timeout: 30_000 })
  } catch (err) {
    const out = `${(err as { stdout?: string }).stdout ?? ''}`
    for (const line of out.split('\n').filter((l) => l.includes('stale'))) {
      log(`warning: ${line}; rebuild: scripts/container/build-images.sh`)
    }
  }
}

/** The per-run additions to the compose file: the log directory (and templates) mounted, the owner of the logs, extra env. */
function runOverlay(logDir: string, templatesDir: string | undefined, env: Record<string, string>): object {
  const user = typeof process.getuid === 'function' ? `${process.getuid()}:${process.getgid!()}` : '65534:65534'
  const service = {
    user,
    volumes: [`${path.resolve(logDir)}:/logs`, ...(templatesDir ? [`${path.resolve(templatesDir)}:/templates:ro`] : [])],
    environment: { ...env, TASKER_LOG_DIR: '/logs', ...(templatesDir ? { TASKER_TEMPLATES_DIR: '/templates' } : {}) },
  }
  // JSON is YAML; compose merges these keys into the services of the main file.
  return { version: '2.4', services: { orchestration: service, worker: service } }
}

function composeDown(tool: ComposeTool, projectName: string, files: string[], env: Record<string, string>) {
  const [file, ...prefix] = tool.command === 'docker compose' ? ['docker', 'compose'] : ['docker-compose']
  const args = [...prefix, '--project-name', projectName, ...files.flatMap((f) => ['-f', f]), 'down', '--volumes', '--timeout', String(DOWN_TIMEOUT_S)]
  const options = { cwd: COMPOSE_DIR, env: { ...process.env, ...env }, timeout: 60_000 }
  return {
    async async(): Promise<void> {
      await run(file!, args, options)
    },
    sync(): void {
      try {
        execFileSync(file!, args, { ...options, stdio: 'ignore' })
      } catch {
        /* exiting anyway */
      }
    },
  }
}

/** Compose waited for the health check already; this confirms it from here, bounded. */
async function waitForHealth(url: string): Promise<void> {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS
  for (let attempt = 0; attempt < 1000; attempt++) {
    try {
      await checkOrchestrator(url)
      return
    } catch (err) {
      if (Date.now() > deadline) throw err
    }
    await delay(250)
  }
}

/** The `up` options that set the replica counts of the two services. */
export function scaleOptions(orchestrators: number, workers: number): { orchestration: string[]; worker: string[] } {
  return { orchestration: ['--scale', `orchestration=${orchestrators}`], worker: ['--scale', `worker=${workers}`] }
}

/**
 * Compose returns once the containers run, not when each replica serves (the port answering says
 * only that one of the orchestration replicas does); like the embedded launcher, wait for each
 * one's readiness report in its own log file (<service>-<id>.log: `orchestration listening on …`,
 * `worker <id> ready`) — only in what was written after `before` (a reused log directory holds
 * earlier runs' files).
 */
async function waitForReady(logDir: string, service: 'orchestration' | 'worker', expected: number, before: Map<string, number>): Promise<void> {
  const file = new RegExp(`^${service}-.+\\.log$`)
  const line = service === 'worker' ? WORKER_READY : ORCHESTRATION_READY
  const deadline = Date.now() + HEALTH_TIMEOUT_MS
  let ready = 0
  for (let attempt = 0; attempt < 1000 && Date.now() < deadline; attempt++) {
    ready = readdirSync(logDir)
      .filter((f) => file.test(f))
      .filter((f) => line.test(readFileSync(path.join(logDir, f)).subarray(before.get(f) ?? 0).toString('utf8'))).length
    if (ready >= expected) return
    await delay(200)
  }
  throw new Error(`${ready} of ${expected} ${service} replica(s) reported ready within ${HEALTH_TIMEOUT_MS / 1000} s`)
}

/** Sizes of the log files already there, so waiting reads only what this run writes. */
function logSizes(logDir: string): Map<string, number> {
  return new Map(readdirSync(logDir).map((f) => [f, statSync(path.join(logDir, f)).size]))
}

/** Runs `work`; past `ms`, runs `abort` (which makes `work` fail) and reports the timeout. */
async function withDeadline(ms: number, abort: () => Promise<void>, work: () => Promise<void>): Promise<void> {
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    abort().catch(() => {})
  }, ms)
  try {
    await work()
  } catch (err) {
    if (timedOut) throw new Error(`not up within ${ms / 1000} s`)
    throw err
  } finally {
    clearTimeout(timer)
  }
  if (timedOut) throw new Error(`not up within ${ms / 1000} s`)
}

function oneLine(err: unknown): string {
  const e = err as { message?: string; err?: string }
  return (e.message ?? e.err ?? String(err)).trim().split('\n').filter(Boolean).slice(-3).join(' | ')
}

/** The last lines of each container's log, for an error message. */
function logTails(logDir: string, lines = 8): string {
  if (!existsSync(logDir)) return ''
  const parts: string[] = []
  for (const name of readdirSync(logDir).filter((f) => f.endsWith('.log')).sort()) {
    const text = readFileSync(path.join(logDir, name), 'utf8').trimEnd()
    if (text) parts.push(`--- ${name}:\n${text.split('\n').slice(-lines).join('\n')}`)
  }
  return parts.length > 0 ? `\n${parts.join('\n')}` : ''
}
