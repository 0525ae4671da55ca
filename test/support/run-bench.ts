/**
 * Runs `vitest bench` on some bench files as a child process, the way a user does, with a clean
 * environment (no DATABASE_URL etc. leaking in from the developer's shell) plus `env`.
 */
import { spawn } from 'node:child_process'
import { chmodSync, mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { childEnded } from './child-ended.ts'

export interface BenchRun {
  code: number | null
  signal: NodeJS.Signals | null
  output: string
  resultsDir: string
  /** the run's own TMPDIR: whatever the run leaves behind in temp files is found here */
  tmpDir: string
}

/** A private TMPDIR for one child run, so its temp files are told apart from parallel tests'. */
export function privateTmpDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tasker-bench-tmp-'))
  chmodSync(dir, 0o755) // PostgreSQL, dropped to its own user, must reach its data directory
  return dir
}

const ROOT = path.resolve(import.meta.dirname, '../..')
const VITEST = path.join(ROOT, 'node_modules/vitest/vitest.mjs')

/** This process's environment without the suite's settings (BENCH_*, TASKER_*, DATABASE_URL)
 *  and without Vitest's own variables, so a child run starts from what a user's shell has. */
export function benchEnvironment(): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('BENCH_') && !k.startsWith('TASKER_') && k !== 'DATABASE_URL' && !k.startsWith('VITEST')) clean[k] = v
  }
  return clean
}

export interface RunBenchOptions {
  /** send SIGINT (Ctrl-C) once, when the output first matches */
  interruptOn?: RegExp
}

export function runBench(files: string[], env: Record<string, string> = {}, timeoutMs = 240_000, options: RunBenchOptions = {}): Promise<BenchRun> {
  const resultsDir = mkdtempSync(path.join(os.tmpdir(), 'tasker-bench-results-'))
  const tmpDir = privateTmpDir()
  const clean = benchEnvironment()
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [VITEST, 'bench', '--run', ...files], {
      cwd: ROOT,
      env: { ...clean, NO_COLOR: '1', TMPDIR: tmpDir, BENCH_RESULTS_DIR: resultsDir, BENCH_ENV_FILE: '.env.example', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    let interrupted = false
    const onData = (d: Buffer) => {
      output += d
      if (options.interruptOn && !interrupted && options.interruptOn.test(output)) {
        interrupted = true
        child.kill('SIGINT')
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    const timer = setTimeout(() => {
      child.kill('SIGINT')
      reject(new Error(`vitest bench ${files.join(' ')} did not finish within ${timeoutMs} ms:\n${output.slice(-3000)}`))
    }, timeoutMs)
    void childEnded(child).then(({ code, signal }) => {
      clearTimeout(timer)
      resolve({ code, signal, output, resultsDir, tmpDir })
    })
  })
}
