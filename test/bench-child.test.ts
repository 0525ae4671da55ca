/**
 * runBenchChild (bench:ab, bench:power, bench:calibrate, conformance) keeps a child's whole output:
 * its log ends when the child's pipes close, not at its 'exit', which can come before the last
 * output was read. A stand-in `vitest.mjs` exits at once and leaves a process that writes to the
 * same pipe 300 ms later.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, expect, test } from 'vitest'
import { runBenchChild } from '../harness/offline/compare/bench-child.ts'

const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-child-test-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const STAND_IN = `
import { spawn } from 'node:child_process'
console.log('early line')
spawn(process.execPath, ['-e', "setTimeout(() => console.log('late line'), 300)"], { stdio: ['ignore', 'inherit', 'inherit'] })
process.exit(0)
`

test('the log holds output written after the child exited, while its pipes were still open', async () => {
  mkdirSync(path.join(dir, 'node_modules', 'vitest'), { recursive: true })
  writeFileSync(path.join(dir, 'node_modules', 'vitest', 'vitest.mjs'), STAND_IN)
  const logFile = path.join(dir, 'child.log')
  const result = await runBenchChild({ cwd: dir, args: [], resultsDir: path.join(dir, 'results'), logFile, timeoutMs: 30_000, env: { PATH: process.env.PATH } })
  expect(result.code).toBe(0)
  expect(readFileSync(logFile, 'utf8').split('\n').filter(Boolean)).toEqual(['early line', 'late line'])
})
