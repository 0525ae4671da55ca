/**
 * scripts/profile-orchestrator.ts, run small: it reports both phases with the PostgreSQL CPU per
 * task, the CPU per task of each process group, and the statements by database time, exits 0,
 * and leaves no temp directory behind.
 */
import { spawnSync } from 'node:child_process'
import { readdirSync, rmSync } from 'node:fs'
import { afterAll, expect, test } from 'vitest'
import { privateTmpDir } from './support/run-bench.ts'

const tmp = privateTmpDir()
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

test('the profile script reports latency, throughput, CPU per task and the top statements', () => {
  const run = spawnSync(process.execPath, ['scripts/profile-orchestrator.ts', '--tasks', '5', '--burst', '20', '--top', '5'], {
    encoding: 'utf8',
    timeout: 180_000,
    env: { ...process.env, TMPDIR: tmp },
  })
  expect(run.status, run.stderr).toBe(0)
  expect(run.stdout).toMatch(/one at a time: 5 linear tasks in [\d.]+ s\n  end to end p50 [\d.]+ \/ p95 [\d.]+ \/ p99 [\d.]+ ms; POST \/v1\/tasks p50 [\d.]+/)
  expect(run.stdout).toMatch(/all at once: 20 linear tasks in [\d.]+ s\n  all created after [\d.]+ s, all complete after [\d.]+ s: \d+ tasks\/s/)
  expect(run.stdout).toMatch(/PostgreSQL CPU per task: \d+\.\d\d ms/)
  // Who burns the CPU: the services, their PostgreSQL backends by application name, this process.
  expect(run.stdout).toMatch(/CPU per task by process, \d+\.\d\d ms in all \(\d+ cores: wall time per task \d+\.\d\d ms\)/)
  for (const group of ['node: orchestration', 'node: worker \\(2 processes\\)', 'postgres: tasker-orchestration', 'node: this profile'])
    expect(run.stdout).toMatch(new RegExp(`^ +\\d+\\.\\d\\d ms  ${group}`, 'm'))
  // Five statements per phase, with their share per task.
  expect(run.stdout.match(/^ +[\d.]+ ms +[\d.]+× [T ] \S/gm)?.length).toBe(10)
  expect(readdirSync(tmp)).toEqual([])
}, 200_000)
