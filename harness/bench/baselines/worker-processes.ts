/**
 * Baseline workers as real processes, like the orchestrator's workers: this Node running a .ts
 * entry (type stripping), configured by one JSON environment variable, reporting `ready` over an
 * IPC channel. A child exits when that channel closes, so a bench worker that dies takes its
 * baseline workers with it; stop() ends them with SIGTERM, then SIGKILL after a grace period.
 */
import { spawn, type ChildProcess } from 'node:child_process'

export const CONFIG_VARIABLE = 'TASKER_BENCH_BASELINE_WORKER'
const READY_TIMEOUT_MS = 60_000
const STOP_GRACE_MS = 5_000

export interface WorkerProcesses {
  pids: number[]
  stop(): Promise<void>
}

export async function startWorkerProcesses(label: string, entry: string, count: number, config: unknown): Promise<WorkerProcesses> {
  if (!Number.isInteger(count) || count < 1) throw new Error(`${label}: the number of workers must be a whole number ≥ 1 (got ${count})`)
  const children: ChildProcess[] = []
  const stop = () => Promise.all(children.map((c) => stopChild(c))).then(() => {})
  try {
    for (let i = 0; i < count; i++) {
      const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', entry], {
        env: { ...process.env, [CONFIG_VARIABLE]: JSON.stringify(config) },
        // stdout is the workers' business; their errors show on stderr
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      })
      children.push(child)
    }
    await Promise.all(children.map((c, i) => ready(c, `${label} worker ${i + 1}`)))
  } catch (err) {
    await stop()
    throw err
  }
  return { pids: children.map((c) => c.pid!), stop }
}

function ready(child: ChildProcess, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${name} did not report ready within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS)
    const fail = (err: Error) => {
      clearTimeout(timer)
      reject(err)
    }
    child.once('error', (err) => fail(new Error(`${name} could not start: ${err.message}`)))
    child.once('exit', (code, signal) => fail(new Error(`${name} exited before it was ready (${signal ?? `code ${code}`}); its error is printed above`)))
    child.on('message', (m) => {
      if ((m as { type?: string }).type === 'ready') {
        clearTimeout(timer)
        resolve()
      }
    })
  })
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const hard = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS)
  child.kill('SIGTERM')
  await exited
  clearTimeout(hard)
}

/** In the child: its configuration, and the signals that end it. */
export function workerConfig<T>(): T {
  const text = process.env[CONFIG_VARIABLE]
  if (!text) throw new Error(`${CONFIG_VARIABLE} is not set: this file is a baseline worker, started by harness/bench/baselines`)
  return JSON.parse(text) as T
}

export function onWorkerStop(stop: () => Promise<void>): void {
  let stopping = false
  const end = () => {
    if (stopping) return
    stopping = true
    void stop().finally(() => process.exit(0))
  }
  process.on('SIGTERM', end)
  process.on('SIGINT', end)
  process.on('disconnect', end)
}

export function reportReady(): void {
  process.send?.({ type: 'ready' })
}
