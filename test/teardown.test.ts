/**
 * Ctrl-C at several points of a real `vitest bench` run: afterwards nothing of the run is left —
 * no process of its process group (PostgreSQL, orchestrator, workers), no temp directory, no
 * listening port.
 */
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { privateTmpDir } from './support/run-bench.ts'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, test } from 'vitest'

const ROOT = path.resolve(import.meta.dirname, '..')
const VITEST = path.join(ROOT, 'node_modules/vitest/vitest.mjs')

interface Interrupted {
  output: string
  code: number | null
  pgid: number
  resultsDir: string
  tmpDir: string
}

/** Starts a run in its own process group and sends SIGINT to the group (as a terminal's Ctrl-C
 *  does) once `when` matches its output. */
function interruptWhen(files: string[], when: RegExp, env: Record<string, string> = {}): Promise<Interrupted> {
  const resultsDir = mkdtempSync(path.join(os.tmpdir(), 'tasker-bench-teardown-'))
  const tmpDir = privateTmpDir()
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(BENCH_|TASKER_|DATABASE_URL|VITEST)/.test(k)))
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [VITEST, 'bench', '--run', ...files], {
      cwd: ROOT,
      detached: true,
      env: { ...clean, NO_COLOR: '1', TMPDIR: tmpDir, BENCH_ENV_FILE: '.env.example', BENCH_PROFILE: 'smoke', BENCH_RESULTS_DIR: resultsDir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    let sent = false
    const onData = (d: Buffer) => {
      output += d
      if (!sent && when.test(output)) {
        sent = true
        process.kill(-child.pid!, 'SIGINT')
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    const timer = setTimeout(() => {
      process.kill(-child.pid!, 'SIGKILL')
      reject(new Error(`run did not ${sent ? 'stop after SIGINT' : `reach ${when}`} in time:\n${output.slice(-3000)}`))
    }, 180_000)
    child.on('exit', (code) => {
      clearTimeout(timer)
      if (!sent) return reject(new Error(`run ended before ${when} appeared:\n${output.slice(-3000)}`))
      // The group may outlive its leader for a moment while children finish stopping.
      setTimeout(() => resolve({ output, code, pgid: child.pid!, resultsDir, tmpDir }), 1_000)
    })
  })
}

function processesInGroup(pgid: number): string[] {
  const out = execFileSync('ps', ['-eo', 'pgid=,pid=,args='], { encoding: 'utf8' })
  // Zombies (<defunct>) are already dead: their parent exited before reaping them, and whether
  // PID 1 reaps orphans depends on the machine (not on the suite).
  return out.split('\n').filter((l) => l.trim().split(/\s+/)[0] === String(pgid) && !l.includes('<defunct>'))
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    socket.once('connect', () => (socket.destroy(), resolve(true)))
    socket.once('error', () => resolve(false))
  })
}

async function expectNothingLeft(run: Interrupted): Promise<void> {
  expect(processesInGroup(run.pgid), 'processes of the interrupted run').toEqual([])
  const ports = [...run.output.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]))
  for (const port of new Set(ports)) expect(await portOpen(port), `port ${port} still listening`).toBe(false)
  const leftover = readdirSync(run.tmpDir).filter((f) => f.startsWith('tasker-bench-'))
  for (const dir of [run.resultsDir, run.tmpDir]) rmSync(dir, { recursive: true, force: true })
  expect(leftover, 'temp directories of the run').toEqual([])
}

describe('Ctrl-C leaves nothing behind', () => {
  test('during PostgreSQL start', async () => {
    const run = await interruptWhen(['benchmarks/event-propagation.bench.ts'], /PostgreSQL: embedded/, { BENCH_ORCHESTRATOR: 'off' })
    await expectNothingLeft(run)
  })

  test('during the end-to-end bench, with the orchestrator and workers running', async () => {
    const run = await interruptWhen(['benchmarks/e2e-latency.bench.ts'], /\[e2e\] completion/)
    expect(run.output).toMatch(/orchestrator: embedded at http:\/\/127\.0\.0\.1:\d+/)
    await expectNothingLeft(run)
  })

  test('during dataset seeding', async () => {
    const run = await interruptWhen(['benchmarks/sql-functions.bench.ts'], /seed/i, { BENCH_ORCHESTRATOR: 'off', BENCH_SQL_SCALES: '20000' })
    await expectNothingLeft(run)
  })
})
