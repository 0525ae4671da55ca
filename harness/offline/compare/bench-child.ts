/**
 * Running `vitest bench` as a child process in a checkout (the repository, or a worktree of another
 * commit), the way a user runs it, with its own results directory. Its output goes to a log file
 * (and to stderr when echoing), so a long calibration or A/B run stays readable. Bounded in time:
 * after `timeoutMs` the child gets SIGINT (Vitest's teardown stops PostgreSQL and the
 * orchestrator), and SIGKILL 60 s later if it is still there.
 */
import { spawn } from 'node:child_process'
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs'
import path from 'node:path'

export interface BenchChildOptions {
  /** the checkout to run in; its node_modules provides Vitest */
  cwd: string
  /** extra `vitest bench` arguments: file filters, --project, … */
  args: readonly string[]
  /** absolute; becomes BENCH_RESULTS_DIR */
  resultsDir: string
  logFile: string
  timeoutMs: number
  /** the environment to start from (default process.env); BENCH_BASELINE is always removed */
  env?: NodeJS.ProcessEnv
  /** also copy the child's output to stderr */
  echo?: boolean
}

export interface BenchChildResult {
  code: number | null
  signal: NodeJS.Signals | null
  timedOut: boolean
  durationMs: number
  /** the run's latest.json, when the run wrote one */
  latest: string | undefined
  logFile: string
}

const KILL_GRACE_MS = 60_000
const PIPE_GRACE_MS = 10_000

export function runBenchChild(options: BenchChildOptions): Promise<BenchChildResult> {
  const vitest = path.join(options.cwd, 'node_modules', 'vitest', 'vitest.mjs')
  if (!existsSync(vitest)) {
    return Promise.reject(new Error(`${options.cwd}: no node_modules/vitest (run npm ci there, or link node_modules)`))
  }
  mkdirSync(options.resultsDir, { recursive: true })
  mkdirSync(path.dirname(options.logFile), { recursive: true })
  const env: NodeJS.ProcessEnv = { ...(options.env ?? process.env), BENCH_RESULTS_DIR: options.resultsDir, NO_COLOR: '1' }
  delete env.BENCH_BASELINE // each run only measures; the caller compares
  delete env.FORCE_COLOR
  // a Vitest that started us (a test of this script) must not leak its worker identity into ours
  for (const key of Object.keys(env)) if (key.startsWith('VITEST')) delete env[key]
  const log = createWriteStream(options.logFile)
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [vitest, 'bench', '--run', ...options.args], { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    const forward = (chunk: Buffer) => {
      log.write(chunk)
      if (options.echo) process.stderr.write(chunk)
    }
    child.stdout.on('data', forward)
    child.stderr.on('data', forward)
    let timedOut = false
    let killTimer: NodeJS.Timeout | undefined
    const timer = setTimeout(() => {
      timedOut = true
      log.write(`\n[tasker-bench] no result after ${options.timeoutMs} ms: sending SIGINT\n`)
      child.kill('SIGINT')
      killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS)
    }, options.timeoutMs)
    child.on('error', (err) => {
      clearTimeout(timer)
      log.end()
      reject(new Error(`could not start vitest in ${options.cwd}: ${err.message}`))
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      if (killTimer) clearTimeout(killTimer)
      const durationMs = performance.now() - started
      // The log ends once the pipes have closed ('exit' can come before the last output was
      // read), or PIPE_GRACE_MS after the exit if a process the child left behind holds them.
      const finish = () => {
        clearTimeout(grace)
        child.removeListener('close', finish)
        log.end(() => {
          const latest = path.join(options.resultsDir, 'latest.json')
          resolve({ code, signal, timedOut, durationMs, latest: existsSync(latest) ? latest : undefined, logFile: options.logFile })
        })
      }
      const grace = setTimeout(finish, PIPE_GRACE_MS)
      child.once('close', finish)
    })
  })
}

/** The last lines of a child's log, to show with a failure. */
export function logTail(logFile: string, lines = 40): string {
  try {
    return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return `(no log at ${logFile})`
  }
}
