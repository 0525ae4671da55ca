/**
 * Interrupts a real run (`vitest bench`, or a script such as `npm run orchestrator`) the way a
 * terminal's Ctrl-C does: the run is started in its own process group and a signal goes to the
 * whole group, sent when a line of the run's output says it reached the point the test is about.
 * Ctrl-C pressed again while the run is still stopping is a further step waiting for its own line.
 * A step may also signal one process instead (SIGSTOP a server to hold it mid-start, as a busy
 * machine might, and SIGCONT it later), or hold the whole run still (SIGSTOP to its group) so the
 * test can see where it is before the Ctrl-C lands.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { portsInOutput, portsOfRun, removeLeftovers, type RunMarks } from './left-behind.ts'
import { benchEnvironment, privateTmpDir } from './run-bench.ts'
import { childEnded } from './child-ended.ts'

const ROOT = path.resolve(import.meta.dirname, '../..')
const VITEST = path.join(ROOT, 'node_modules/vitest/vitest.mjs')

/** What a step can look at: the output so far, the run's marks, and the pid of its first process. */
export interface RunView {
  output: string
  marks: RunMarks
  pid: number
}

export interface InterruptStep {
  /** taken once this appears in the output printed since the previous step (`/(?:)/`: at once) */
  when: RegExp
  /**
   * and, once `when` matched, this holds: checked on every output and every POLL_MS meanwhile
   * (for a point no line marks, such as a child process having started)
   */
  andWhen?: (run: RunView) => boolean
  signal?: NodeJS.Signals
  /** the process to signal; default: the run's whole process group, which Ctrl-C reaches */
  to?: (run: RunView) => number | undefined
  /** called right after the signal is sent (e.g. to see what a SIGSTOP held) */
  then?: (run: RunView) => void
}

/** How often a step's `andWhen` is checked while the run's output is quiet. */
const POLL_MS = 2

export interface InterruptedRun {
  output: string
  code: number | null
  signal: NodeJS.Signals | null
  marks: RunMarks
  /** every loopback port the run named, or was seen listening on when the first step was taken */
  ports: number[]
  /** how many of the steps were taken before the run ended */
  stepsTaken: number
  /** when each step was taken and when the run ended, for messages (`step 1 at 12.3 s, …`) */
  timeline: string
}

/** `vitest bench --run <files>` in the smoke profile, with its own results and temp directories. */
export function interruptBench(files: string[], steps: InterruptStep[], env: Record<string, string> = {}): Promise<InterruptedRun> {
  const resultsDir = mkdtempSync(path.join(os.tmpdir(), 'tasker-bench-teardown-'))
  return interruptRun([VITEST, 'bench', '--run', ...files], steps, { BENCH_PROFILE: 'smoke', BENCH_RESULTS_DIR: resultsDir, ...env }, [resultsDir])
}

/** `node <args>` (the project's Node) from the project root, with a private TMPDIR. */
export function interruptRun(args: string[], steps: InterruptStep[], env: Record<string, string> = {}, dirs: string[] = [], timeoutMs = 240_000): Promise<InterruptedRun> {
  const marks: RunMarks = { tmpDir: privateTmpDir(), dirs }
  const ports = new Set<number>()
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      detached: true,
      env: { ...benchEnvironment(), NO_COLOR: '1', TMPDIR: marks.tmpDir, BENCH_ENV_FILE: '.env.example', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const started = performance.now()
    const seconds = () => `${((performance.now() - started) / 1000).toFixed(1)} s`
    const timeline: string[] = []
    let output = ''
    let next = 0
    let since = 0
    let failed: Error | undefined
    /** The test cannot go on: stop the run and whatever it started (in other groups too). */
    const fail = (err: Error) => {
      failed ??= err
      killGroup()
      removeLeftovers(marks)
    }
    const killGroup = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {
        /* gone */
      }
    }
    let poll: NodeJS.Timeout | undefined
    const view = (): RunView => ({ output, marks, pid: child.pid! })
    const advance = () => {
      poll = undefined
      // One chunk may satisfy several steps; each still only looks at what came after the previous.
      while (!failed && next < steps.length && steps[next]!.when.test(output.slice(since))) {
        const step = steps[next]!
        if (step.andWhen && !step.andWhen(view())) {
          if (child.exitCode === null && child.signalCode === null) poll ??= setTimeout(advance, POLL_MS)
          return
        }
        const first = next === 0
        since = output.length
        next++
        timeline.push(`step ${next} at ${seconds()}`)
        const pid = step.to ? step.to(view()) : -child.pid!
        if (pid === undefined) return fail(new Error(`step ${next} (${step.when}): no process to signal`))
        try {
          process.kill(pid, step.signal ?? 'SIGINT')
        } catch (err) {
          // The whole run may be gone already; a single process we meant to hold must exist.
          if (step.to) return fail(new Error(`step ${next} (${step.when}): ${(err as Error).message}`))
        }
        // After the signal, not before: reading /proc for every process takes a while on a busy
        // machine, and the run must not get past the point the step is about meanwhile.
        if (first) for (const port of portsOfRun(marks)) ports.add(port)
        step.then?.(view())
      }
    }
    const onData = (d: Buffer) => {
      output += d
      advance()
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    const timer = setTimeout(() => {
      const waiting = next < steps.length ? `reach ${steps[next]!.when}` : 'stop after the last step'
      fail(new Error(`run did not ${waiting} within ${timeoutMs} ms`))
    }, timeoutMs)
    // A run that ends before all steps were taken is resolved too: what it left is the finding.
    void childEnded(child).then(({ code, signal }) => {
      clearTimeout(timer)
      clearTimeout(poll)
      if (failed) return reject(new Error(`${failed.message}:\n${output.slice(-3000)}`))
      for (const port of portsInOutput(output)) ports.add(port)
      timeline.push(`ended at ${seconds()}`)
      resolve({ output, code, signal, marks, ports: [...ports], stepsTaken: next, timeline: timeline.join(', ') })
    })
  })
}

/**
 * Whether process `pid` is stopped (SIGSTOP) within `timeoutMs`: a stop signal takes effect when
 * the process is next scheduled, not when kill() returns. False once it has exited or is exiting.
 */
export function stoppedWithin(pid: number, timeoutMs = 2000): boolean {
  return stateWithin(pid, timeoutMs) === 'stopped'
}

/** `stopped`, `gone`, or the state letter of /proc/<pid>/stat seen last when `timeoutMs` ran out. */
export function stateWithin(pid: number, timeoutMs = 2000): string {
  const deadline = performance.now() + timeoutMs
  const pause = new Int32Array(new SharedArrayBuffer(4))
  for (;;) {
    let state: string | undefined
    try {
      state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\)\s+/, '')[0]
    } catch {
      return 'gone'
    }
    if (state === 'T' || state === 't') return 'stopped'
    if (state === 'Z' || state === 'X') return 'gone'
    if (performance.now() > deadline) return state ?? 'gone'
    Atomics.wait(pause, 0, 0, 5) // synchronous: the step's signals follow in the same callback
  }
}

/** The child of process `parent` whose command is `command` (from /proc/<pid>/stat), if one runs. */
export function childOf(parent: number, command: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue // gone meanwhile
    }
    // pid (comm) state ppid …; comm may hold spaces and parentheses, so split at the last ')'
    const close = stat.lastIndexOf(')')
    const comm = stat.slice(stat.indexOf('(') + 1, close)
    const [state, ppid] = stat.slice(close + 2).split(' ')
    if (comm === command && Number(ppid) === parent && state !== 'Z') return Number(entry)
  }
  return undefined
}
