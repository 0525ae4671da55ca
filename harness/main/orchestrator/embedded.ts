/**
 * Embedded mode: the reference orchestrator (orchestrator/) as child processes — one or more
 * orchestration instances (each on its own port, coordinating through the database) and N
 * workers — against the run's PostgreSQL. With several instances, `url` is a loopback
 * round-robin front (round-robin.ts), as a load balancer would be; `orchestrations` lists each
 * instance's own URL. Each child is this Node
 * running the .ts entry file directly (type stripping), with stdout/stderr appended to a file in
 * logDir and an IPC channel on which it reports readiness (and by whose closing it notices that
 * the launcher died). Stops are registered with onCleanup, so Ctrl-C and crashes stop them too.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs'
import path from 'node:path'
import { ORCHESTRATION_ENTRY, WORKER_ENTRY } from '../../../orchestrator/index.ts'
import { onCleanup } from '../cleanup.ts'
import { startRoundRobinFront, type RoundRobinFront } from './round-robin.ts'

export interface EmbeddedOrchestratorOptions {
  databaseUrl: string
  workers: number
  /** orchestration instances (default 1) */
  orchestrators?: number
  /**
   * How the orchestration instances keep evaluations of a task apart (TASKER_COORDINATION):
   * `database` (default; any number of instances) or `process` (one instance only: no transaction
   * per result batch). Asking `process` with several instances is refused.
   */
  coordination?: 'database' | 'process'
  logDir: string
  /** OTLP/HTTP base URL (http://127.0.0.1:4318); unset → tracing off in the children. */
  otlpEndpoint?: string
  /** Extra environment for every child (TASKER_VISIBILITY_TIMEOUT_S, TASKER_POLL_INTERVAL_MS, …). */
  env?: Record<string, string>
  /** experiment knob (BENCH_WORKER_STEP_DELAY_MS): workers wait this long before every handler */
  stepDelayMs?: number
  /** experiment knob (BENCH_WORKER_EXTRA_STATEMENTS): workers run this many extra statements per step */
  extraStatementsPerStep?: number
  log?: (line: string) => void
}

export interface EmbeddedOrchestrator {
  /** the API: the only instance's, or the round-robin front of several */
  url: string
  logDir: string
  workers: { id: string; pid: number }[]
  /** every orchestration instance, in start order */
  orchestrations: { id: string; url: string; pid: number }[]
  stop(): Promise<void>
  /** restarts every orchestration instance on its port */
  restartOrchestration(): Promise<void>
  /**
   * Sends a signal to one orchestration instance: SIGKILL/SIGTERM end it for good (the front
   * skips it); SIGSTOP/SIGCONT pause and resume it.
   */
  signalOrchestration(index: number, signal: NodeJS.Signals): Promise<void>
  killWorker(index: number, signal?: NodeJS.Signals): Promise<void>
  startWorker(): Promise<void>
}

const READY_TIMEOUT_MS = 30_000
const STOP_GRACE_MS = 5_000

interface Service {
  label: string
  child: ChildProcess
  logFile: string
  /** set before we stop or kill it on purpose */
  stopping: boolean
}

export async function startEmbeddedOrchestrator(opts: EmbeddedOrchestratorOptions): Promise<EmbeddedOrchestrator> {
  if (!Number.isInteger(opts.workers) || opts.workers < 1) throw new Error(`workers must be a whole number ≥ 1 (got ${opts.workers})`)
  const instances = opts.orchestrators ?? 1
  if (!Number.isInteger(instances) || instances < 1) throw new Error(`orchestrators must be a whole number ≥ 1 (got ${instances})`)
  if (instances > 1 && opts.coordination === 'process') throw new Error(`coordination 'process' keeps task evaluations apart inside one process only: it cannot serve ${instances} orchestration instances`)
  if (instances > 1 && opts.env?.TASKER_PORT) throw new Error('TASKER_PORT names one port: leave it unset with several orchestration instances (each gets its own)')
  mkdirSync(opts.logDir, { recursive: true })
  const log = opts.log ?? (() => {})
  const baseEnv = childEnvironment(opts)
  const orchestrations: { service: Service | undefined; url: string; gone: boolean }[] = []
  const workers: Service[] = []
  let nextWorker = 1
  let front: RoundRobinFront | undefined

  const stopAll = async () => {
    await Promise.all([...workers.splice(0).map((w) => stopService(w)), ...orchestrations.map((o) => o.service && stopService(o.service))])
    for (const o of orchestrations) o.service = undefined
    await front?.close()
    front = undefined
  }
  const killAllSync = () => {
    for (const s of [...workers, ...orchestrations.map((o) => o.service)]) if (s && isRunning(s.child)) s.child.kill('SIGKILL')
  }
  const unregister = onCleanup('embedded orchestrator', stopAll, killAllSync)

  const startOrchestration = async (index: number, port: string) => {
    const label = instances === 1 ? 'orchestration' : `orchestration-${index + 1}`
    const service = await startService({
      label,
      entry: ORCHESTRATION_ENTRY,
      env: { ...baseEnv, TASKER_PORT: port, OTEL_SERVICE_NAME: 'tasker-orchestration', ...(opts.coordination ? { TASKER_COORDINATION: opts.coordination } : {}) },
      logFile: path.join(opts.logDir, `${label}.log`),
      log,
    })
    orchestrations[index] = { service: service.service, url: String(service.info.url), gone: false }
    await waitForHealth(orchestrations[index].url, service.service)
  }
  const startWorker = async () => {
    const id = `worker-${nextWorker++}`
    const service = await startService({
      label: id,
      entry: WORKER_ENTRY,
      env: { ...baseEnv, TASKER_WORKER_ID: id, OTEL_SERVICE_NAME: 'tasker-worker', ...(opts.stepDelayMs ? { TASKER_WORKER_STEP_DELAY_MS: String(opts.stepDelayMs) } : {}), ...(opts.extraStatementsPerStep ? { TASKER_WORKER_EXTRA_STATEMENTS: String(opts.extraStatementsPerStep) } : {}) },
      logFile: path.join(opts.logDir, `${id}.log`),
      log,
    })
    workers.push(service.service)
  }

  try {
    // One after another: the first applies the migrations, the others find them applied.
    for (let i = 0; i < instances; i++) await startOrchestration(i, opts.env?.TASKER_PORT ?? '0')
    if (instances > 1) {
      front = await startRoundRobinFront(() => {
        const live = orchestrations.filter((o) => !o.gone)
        return (live.length > 0 ? live : orchestrations).map((o) => o.url)
      })
      log(`orchestration: ${instances} instances behind ${front.url} (round robin)`)
    }
    // Sequentially: workers start fast, and their logs stay readable.
    for (let i = 0; i < opts.workers; i++) await startWorker()
  } catch (err) {
    await stopAll()
    unregister()
    throw err
  }

  return {
    get url() {
      return front?.url ?? orchestrations[0]!.url
    },
    logDir: opts.logDir,
    get workers() {
      return workers.map((w) => ({ id: w.label, pid: w.child.pid! }))
    },
    get orchestrations() {
      return orchestrations.map((o, i) => ({ id: o.service?.label ?? `orchestration-${i + 1}`, url: o.url, pid: o.service?.child.pid ?? 0 }))
    },
    async signalOrchestration(index, signal) {
      const o = orchestrations[index]
      if (!o?.service) throw new Error(`no running orchestration instance at index ${index} (there are ${orchestrations.length})`)
      const s = o.service
      if (signal === 'SIGSTOP' || signal === 'SIGCONT') {
        s.child.kill(signal)
        return
      }
      s.stopping = true
      o.gone = true
      o.service = undefined
      await new Promise<void>((resolve) => {
        if (!isRunning(s.child)) return resolve()
        s.child.once('exit', () => resolve())
        s.child.kill(signal)
      })
    },
    async stop() {
      await stopAll()
      unregister()
    },
    async restartOrchestration() {
      for (const [i, o] of orchestrations.entries()) {
        if (o.service) await stopService(o.service)
        await startOrchestration(i, new URL(o.url).port)
      }
    },
    async killWorker(index, signal = 'SIGKILL') {
      const w = workers[index]
      if (!w) throw new Error(`no worker at index ${index} (there are ${workers.length})`)
      workers.splice(index, 1)
      w.stopping = true
      await new Promise<void>((resolve) => {
        if (!isRunning(w.child)) return resolve()
        w.child.once('exit', () => resolve())
        w.child.kill(signal)
      })
    },
    startWorker,
  } satisfies EmbeddedOrchestrator
}

function childEnvironment(opts: EmbeddedOrchestratorOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  // Tracing is on only when asked for here, so an OTEL_* left in the shell does not change what
  // the benchmarks measure.
  for (const key of Object.keys(env)) if (key.startsWith('OTEL_')) delete env[key]
  if (opts.otlpEndpoint) env.OTEL_EXPORTER_OTLP_ENDPOINT = opts.otlpEndpoint
  env.DATABASE_URL = opts.databaseUrl
  return { ...env, ...opts.env }
}

async function startService(o: {
  label: string
  entry: string
  env: NodeJS.ProcessEnv
  logFile: string
  log: (line: string) => void
}): Promise<{ service: Service; info: Record<string, unknown> }> {
  if (!existsSync(o.entry)) throw new Error(`${o.label}: entry file ${o.entry} is missing`)
  const fd = openSync(o.logFile, 'a')
  writeSync(fd, `--- ${new Date().toISOString()} starting ${o.label} ---\n`)
  let child: ChildProcess
  try {
    child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', o.entry], { env: o.env, stdio: ['ignore', fd, fd, 'ipc'] })
  } finally {
    closeSync(fd)
  }
  const service: Service = { label: o.label, child, logFile: o.logFile, stopping: false }
  child.on('exit', (code, signal) => {
    if (!service.stopping) o.log(`${o.label} (pid ${child.pid}) exited unexpectedly (${signal ?? `code ${code}`}); see ${o.logFile}`)
  })
  const info = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const fail = (why: string) => {
      cleanup()
      if (isRunning(child)) child.kill('SIGKILL')
      reject(new Error(`${o.label} ${why}; see ${o.logFile}:\n${tail(o.logFile)}`))
    }
    const timer = setTimeout(() => fail(`did not report ready within ${READY_TIMEOUT_MS / 1000} s`), READY_TIMEOUT_MS)
    const onMessage = (m: unknown) => {
      if ((m as { type?: unknown })?.type !== 'ready') return
      cleanup()
      resolve(m as Record<string, unknown>)
    }
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => fail(`exited during start (${signal ?? `code ${code}`})`)
    const onError = (err: Error) => fail(`could not be started: ${err.message}`)
    function cleanup() {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
      child.off('error', onError)
    }
    child.on('message', onMessage)
    child.once('exit', onExit)
    child.once('error', onError)
  })
  // Readiness was all the channel was needed for; it must not keep this process alive.
  child.channel?.unref()
  o.log(`${o.label} ready (pid ${child.pid}); log ${o.logFile}`)
  return { service, info }
}

async function waitForHealth(url: string, service: Service): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  let last = ''
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) })
      if (res.ok) return
      last = `HTTP ${res.status}`
    } catch (err) {
      last = (err as Error).message
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`orchestration at ${url} did not answer GET /health within ${READY_TIMEOUT_MS / 1000} s (${last}); see ${service.logFile}:\n${tail(service.logFile)}`)
}

/** SIGTERM, then SIGKILL after the grace period. */
function stopService(s: Service): Promise<void> {
  s.stopping = true
  if (!isRunning(s.child)) return Promise.resolve()
  return new Promise((resolve) => {
    const hard = setTimeout(() => s.child.kill('SIGKILL'), STOP_GRACE_MS)
    s.child.once('exit', () => {
      clearTimeout(hard)
      resolve()
    })
    s.child.kill('SIGTERM')
  })
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}
