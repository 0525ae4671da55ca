/**
 * Bad input, as a user meets it: `vitest bench` with a wrong setting stops with one line naming
 * what and where, exits non-zero, and leaves nothing running — no process of the run, no port it
 * opened, nothing in its temp directory (test/support/left-behind.ts). (Unit-level checks of each
 * message live next to their modules' tests; this is the end-to-end matrix.)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { portsInOutput, removeLeftovers, waitUntilNothingLeft } from './support/left-behind.ts'
import { runBench } from './support/run-bench.ts'

const FILE = 'benchmarks/event-propagation.bench.ts'
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tasker-bench-bad-input-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** A port nothing listens on: bound, then closed. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo
      s.close(() => resolve(port))
    })
  })
}

async function expectCleanFailure(env: Record<string, string>, message: RegExp | string): Promise<string> {
  const started = performance.now()
  const run = await runBench([FILE], { BENCH_PROFILE: 'smoke', ...env }, 120_000)
  const marks = { tmpDir: run.tmpDir, dirs: [run.resultsDir] }
  try {
    const left = await waitUntilNothingLeft(marks, portsInOutput(run.output))
    expect(left.processes, 'processes of the failed run still alive').toEqual([])
    expect(left.ports, 'ports of the failed run still listening').toEqual([])
    expect(left.tempFiles, 'left in the run’s temp directory').toEqual([])
  } finally {
    removeLeftovers(marks)
  }
  expect(run.code, run.output.slice(-2000)).not.toBe(0)
  if (typeof message === 'string') expect(run.output).toContain(message)
  else expect(run.output).toMatch(message)
  expect(performance.now() - started).toBeLessThan(60_000)
  return run.output
}

describe('vitest bench with bad input', { timeout: 180_000 }, () => {
  test('an invalid variable', async () => {
    await expectCleanFailure({ BENCH_POSTGRES: 'foo' }, 'BENCH_POSTGRES=foo is not one of auto|embedded|container|external')
  })

  test('a malformed .env line', async () => {
    const envFile = path.join(tmp, 'broken.env')
    writeFileSync(envFile, 'BENCH_WORKERS=2\nnot a setting\n')
    await expectCleanFailure({ BENCH_ENV_FILE: envFile }, `${envFile}:2: expected KEY=value`)
  })

  test('a budget file that is not YAML', async () => {
    const budgets = path.join(tmp, 'budgets.yaml')
    writeFileSync(budgets, 'event-propagation:\n  - [unclosed\n')
    // The file, what is wrong with it and where: one line.
    await expectCleanFailure({ BENCH_BUDGETS_FILE: budgets }, new RegExp(`^ConfigError: ${escapeRegExp(budgets)}: invalid YAML: [^\\n]+ at line 3, column 1$`, 'm'))
  })

  test('an unreachable DATABASE_URL names host:port, never the password', async () => {
    const port = await closedPort()
    const output = await expectCleanFailure(
      { DATABASE_URL: `postgres://bench:s3cret@127.0.0.1:${port}/tasker`, BENCH_ORCHESTRATOR: 'off' },
      `cannot reach PostgreSQL at 127.0.0.1:${port}`,
    )
    expect(output).not.toContain('s3cret')
  })

  test('an unreachable orchestrator URL', async () => {
    const port = await closedPort()
    await expectCleanFailure({ TASKER_ORCHESTRATION_URL: `http://127.0.0.1:${port}` }, `127.0.0.1:${port}`)
  })

  test('container mode without a container runtime', async () => {
    await expectCleanFailure({ BENCH_POSTGRES: 'container', DOCKER_HOST: 'unix:///nonexistent/docker.sock' }, /BENCH_POSTGRES=container: .*use BENCH_POSTGRES=embedded/)
  })
})
