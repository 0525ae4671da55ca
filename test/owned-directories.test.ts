/**
 * bench-power --out and bench-calibrate's <results>/calibration are replaced on the next run only
 * when the command made them (its marker file): a directory of anyone else's — even one that holds
 * a manifest.json — is refused with a one-line error and left as it was (issue 21 §10).
 */
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, test } from 'vitest'
import { UsageError } from '../harness/offline/compare/command-line.ts'
import { claimDirectory, markerName } from '../harness/offline/compare/owned-directory.ts'

const ROOT = path.resolve(import.meta.dirname, '..')
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tasker-bench-owned-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
let n = 0
const fresh = () => path.join(tmp, `d${++n}`)

describe('claimDirectory', () => {
  test('a missing or empty directory is made and marked', () => {
    const missing = path.join(fresh(), 'nested')
    claimDirectory(missing, 'bench-power', '--out')
    expect(readdirSync(missing)).toEqual(['.tasker-bench-power'])
    expect(readFileSync(path.join(missing, markerName('bench-power')), 'utf8')).toBe('bench-power\n')
    const empty = fresh()
    mkdirSync(empty)
    claimDirectory(empty, 'bench-power', '--out')
    expect(readdirSync(empty)).toEqual(['.tasker-bench-power'])
  })

  test("the command's own earlier directory is replaced", () => {
    const dir = fresh()
    claimDirectory(dir, 'bench-calibrate', 'calibration')
    mkdirSync(path.join(dir, 'run-1'))
    writeFileSync(path.join(dir, 'run-1.log'), 'old run\n')
    claimDirectory(dir, 'bench-calibrate', 'calibration')
    expect(readdirSync(dir)).toEqual(['.tasker-bench-calibrate'])
  })

  test("anyone else's directory is refused and left as it was: unmarked, another command's, a file, a symlink", () => {
    const unmarked = fresh()
    mkdirSync(unmarked)
    writeFileSync(path.join(unmarked, 'manifest.json'), '{}\n')
    const others = fresh()
    claimDirectory(others, 'bench-calibrate', 'calibration')
    writeFileSync(path.join(others, 'run-1.log'), 'kept\n')
    const file = fresh()
    writeFileSync(file, 'a file\n')
    const link = fresh()
    const target = fresh()
    claimDirectory(target, 'bench-power', '--out')
    writeFileSync(path.join(target, 'manifest.json'), '{}\n')
    symlinkSync(target, link)
    for (const dir of [unmarked, others, file, link]) {
      const before = dir === file ? undefined : readdirSync(dir).sort()
      expect(() => claimDirectory(dir, 'bench-power', '--out'), dir).toThrow(UsageError)
      if (before) expect(readdirSync(dir).sort(), dir).toEqual(before)
    }
    expect(() => claimDirectory(unmarked, 'bench-power', '--out')).toThrow(
      `--out ${unmarked} exists and was not made by bench-power (no .tasker-bench-power in it), so it is not replaced; choose a new directory, or remove this one yourself if nothing in it is needed`,
    )
    expect(readFileSync(file, 'utf8')).toBe('a file\n')
    expect(readdirSync(target).sort()).toEqual(['.tasker-bench-power', 'manifest.json'])
  })
})

describe('the commands refuse a directory they did not make', () => {
  const run = promisify(execFile)
  /** The command as a user runs it; the filter names no bench file, so a run that wrongly went ahead ends fast. */
  async function command(name: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> {
    const clean: NodeJS.ProcessEnv = {}
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BENCH_') && !k.startsWith('VITEST') && k !== 'CI') clean[k] = v
    try {
      const { stderr } = await run(process.execPath, [path.join(ROOT, 'scripts', name), ...args, 'benchmarks/no-such-file.bench.ts'], {
        cwd: tmp,
        env: { ...clean, BENCH_ENV_FILE: path.join(ROOT, '.env.example'), ...env },
        timeout: 120_000,
      })
      return { code: 0, stderr }
    } catch (err) {
      const e = err as { code: number; stderr: string }
      return { code: e.code, stderr: e.stderr }
    }
  }

  test('bench-power --out at a directory holding a manifest.json but no marker', async () => {
    const out = fresh()
    mkdirSync(out)
    writeFileSync(path.join(out, 'manifest.json'), '{"runs":[]}\n')
    writeFileSync(path.join(out, 'notes.txt'), 'mine\n')
    const r = await command('bench-power.ts', ['--out', out, '--cycles', '1', '--max-minutes', '1'], {})
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr.trim()).toBe(`bench-power: --out ${out} exists and was not made by bench-power (no .tasker-bench-power in it), so it is not replaced; choose a new directory, or remove this one yourself if nothing in it is needed`)
    expect(readdirSync(out).sort()).toEqual(['manifest.json', 'notes.txt'])
  }, 180_000)

  test('bench-calibrate with a <results>/calibration it did not make', async () => {
    const results = fresh()
    const calibration = path.join(results, 'calibration')
    mkdirSync(calibration, { recursive: true })
    writeFileSync(path.join(calibration, 'notes.txt'), 'mine\n')
    const r = await command('bench-calibrate.ts', ['--runs', '2', '--dry-run', '--timeout-minutes', '1'], { BENCH_RESULTS_DIR: results })
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr.trim()).toMatch(/^bench-calibrate: the calibration directory \(<BENCH_RESULTS_DIR>\/calibration\) \S+calibration exists and was not made by bench-calibrate \(no \.tasker-bench-calibrate in it\)/)
    expect(readdirSync(calibration)).toEqual(['notes.txt'])
  }, 180_000)
})
