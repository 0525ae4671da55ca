/**
 * Interrupts a real run (`vitest bench`, or a script such as `npm run orchestrator`) the way a
 * terminal's Ctrl-C does: the run is started in its own process group and a signal goes to the
 * whole group, sent when a line of the run's output says it reached the point the test is about.
 * Ctrl-C pressed again while the run is still stopping is a further step waiting for its own line.
 * A step may also signal one process instead (SIGSTOP a server to hold it mid-start, as a busy
 * machine might, and SIGCONT it later).
 */
import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { portsInOutput, portsOfRun, removeLeftovers, type RunMarks } from './left-behind.ts'
import { benchEnvironment, privateTmpDir } from './run-bench.ts'

const ROOT = path.resolve(import.meta.dirname, '../..')
const VITEST = path.join(ROOT, 'node_modules/vitest/vitest.mjs')

export interface InterruptStep {
  /** taken once this appears in the output printed since the previous step (`/(?:)/`: at once) */
  when: RegExp
  signal?: NodeJS.Signals
  /** the process to signal; default: the run's whole process group, which Ctrl-C reaches */
  to?: (run: { output: string; marks: RunMarks }) => number | undefined
}

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
    const onData = (d: Buffer) => {
      output += d
      // One chunk may satisfy several steps; each still only looks at what came after the previous.
      while (!failed && next < steps.length && steps[next]!.when.test(output.slice(since))) {
        const step = steps[next]!
        if (next === 0) for (const port of portsOfRun(marks)) ports.add(port)
        since = output.length
        next++
        timeline.push(`step ${next} at ${seconds()}`)
        const pid = step.to ? step.to({ output, marks }) : -child.pid!
        if (pid === undefined) return fail(new Error(`step ${next} (${step.when}): no process to signal`))
        try {
          process.kill(pid, step.signal ?? 'SIGINT')
        } catch (err) {
          // The whole run may be gone already; a single process we meant to hold must exist.
          if (step.to) return fail(new Error(`step ${next} (${step.when}): ${(err as Error).message}`))
        }
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    const timer = setTimeout(() => {
      const waiting = next < steps.length ? `reach ${steps[next]!.when}` : 'stop after the last step'
      fail(new Error(`run did not ${waiting} within ${timeoutMs} ms`))
    }, timeoutMs)
    // A run that ends before all steps were taken is resolved too: what it left is the finding.
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      if (failed) return reject(new Error(`${failed.message}:\n${output.slice(-3000)}`))
      for (const port of portsInOutput(output)) ports.add(port)
      timeline.push(`ended at ${seconds()}`)
      resolve({ output, code, signal, marks, ports: [...ports], stepsTaken: next, timeline: timeline.join(', ') })
    })
  })
}
