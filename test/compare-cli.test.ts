/**
 * The command-line scripts on results files, run as a user runs them (child processes):
 * saving a baseline, comparing two files (exit codes, reports), writing the reports of one run.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, test } from 'vitest'
import { seededRandom } from '../harness/offline/compare/seeded-random.ts'
import { lognormalSamples, simulatedDocument } from '../harness/offline/compare/simulate.ts'
import { readResultsFile } from '../harness/results/read.ts'

const ROOT = path.resolve(import.meta.dirname, '..')
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tasker-bench-cli-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const run = promisify(execFile)
async function script(name: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BENCH_') && !k.startsWith('VITEST') && k !== 'CI') clean[k] = v
  try {
    const { stdout, stderr } = await run(process.execPath, [path.join(ROOT, 'scripts', name), ...args], { cwd: tmp, env: { ...clean, BENCH_ENV_FILE: path.join(ROOT, '.env.example'), ...env }, timeout: 60_000 })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

function write(name: string, slowdown: number): string {
  const random = seededRandom(slowdown * 1000)
  const doc = simulatedDocument([
    { file: 'task-initialization', bench: 'create linear task', samples: lognormalSamples(random, 400, 18, 0.2) },
    { file: 'event-propagation', bench: 'notify small payload', samples: lognormalSamples(random, 400, 0.45 * slowdown, 0.3) },
  ])
  const file = path.join(tmp, name)
  writeFileSync(file, JSON.stringify(doc))
  return file
}

describe('bench-save-baseline', () => {
  test('saves a normalised copy (entries sorted) and says how to compare with it', async () => {
    const from = write('run.json', 1)
    const out = path.join(tmp, 'baselines', 'main.json')
    const r = await script('bench-save-baseline.ts', ['--from', from, '--out', out])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^saved baseline .*main\.json: 2 measurements, commit 0123456789abcdef0123456789abcdef01234567, Simulated CPU @ 3\.0GHz × 4\n/)
    expect(r.stdout).toContain('compare with it: BENCH_BASELINE=')
    const saved = readResultsFile(out)
    expect(saved.results.map((e) => e.file)).toEqual(['event-propagation', 'task-initialization'])
    expect(saved.results[0]!.samples).toHaveLength(400)
    expect((await script('bench-save-baseline.ts', ['--from', from, '--out', out])).stdout).toMatch(/^replaced baseline/)
  })

  test('warns about entries without samples; refuses bad names and unreadable files', async () => {
    const doc = JSON.parse(readFileSync(write('old.json', 1), 'utf8'))
    for (const e of doc.results) delete e.samples
    writeFileSync(path.join(tmp, 'old.json'), JSON.stringify(doc))
    const old = await script('bench-save-baseline.ts', ['--from', path.join(tmp, 'old.json'), '--out', path.join(tmp, 'old-baseline.json')])
    expect(old.stdout).toContain('warning: 2 of 2 entries kept no samples')
    const bad = await script('bench-save-baseline.ts', ['--from', path.join(tmp, 'old.json'), '--name', '../escape'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/--name \.\.\/escape: use letters, digits/)
    const missing = await script('bench-save-baseline.ts', ['--from', path.join(tmp, 'absent.json'), '--out', path.join(tmp, 'x.json')])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/absent\.json: no such results file/)
  })
})

describe('bench-compare', () => {
  test('a regression: verdicts, report paths, exit code 1; --informational exits 0', async () => {
    const base = write('base.json', 1)
    const head = write('head.json', 1.5)
    const out = path.join(tmp, 'compare-out')
    const r = await script('bench-compare.ts', [base, head, '--out', out])
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(
      /^comparison with .*base\.json: 1 regressed, 0 improved, 1 unchanged, 0 not comparable; gating: 1 of 2 regressed\n {2}margins: built-in WIDE defaults \(p50 25 %, p95 40 %, p99 60 %\) because there is no calibration data: .* npm run bench:calibrate .*\n {2}regressed {2}event-propagation > notify small payload \[gates: fails\]: p95 \+[\d.]+ % \(\+[\d.]+ ms\) run vs run: z = [\d.]+ > [\d.]+, beyond the 40 % \/ 0\.100 ms margin; p50 \+/,
    )
    expect(r.stdout).toMatch(/\nreports: .*report\.html, .*summary\.md, .*bmf\.json, .*benchmark-action\.json, .*comparison\.json\n/)
    expect(r.stdout).toContain('gating regression: exit code 1')
    expect(readdirSync(out).sort()).toEqual(['benchmark-action.json', 'bmf.json', 'comparison.json', 'report.html', 'summary.md'])
    expect(readFileSync(path.join(out, 'summary.md'), 'utf8')).toContain('🔴 **regressed**')

    expect((await script('bench-compare.ts', [base, head, '--out', out, '--informational'])).code).toBe(0)
    expect((await script('bench-compare.ts', [base, head, '--out', out], { BENCH_REGRESSION: 'informational' })).code).toBe(0)
    expect((await script('bench-compare.ts', [base, base, '--out', out])).code).toBe(0)
  })

  test('a margins file decides; bad input exits 2 with a reason', async () => {
    const base = write('base.json', 1)
    const head = write('head.json', 1.5)
    const margins = path.join(tmp, 'wide-margins.yaml')
    writeFileSync(margins, 'defaults:\n  p50: { relative: 0.9 }\n  p95: { relative: 0.9 }\n')
    expect((await script('bench-compare.ts', [base, head, '--out', path.join(tmp, 'o2'), '--margins', margins])).code).toBe(0)
    writeFileSync(margins, 'defaults:\n  p50: { relative: -1 }\n')
    const badMargins = await script('bench-compare.ts', [base, head, '--out', path.join(tmp, 'o2'), '--margins', margins])
    expect(badMargins.code).toBe(2)
    expect(badMargins.stderr).toMatch(/wide-margins\.yaml: defaults > p50\.relative: -1 is not a number within 0\.\.10/)
    const usage = await script('bench-compare.ts', [])
    expect(usage.code).toBe(2)
    expect(usage.stdout).toMatch(/^usage: node scripts\/bench-compare\.ts <baseline\.json>/)
    expect((await script('bench-compare.ts', [base, head, '--alpha', '2'])).stderr).toMatch(/--alpha 2: expected a number between 0 and 0\.5/)
  })

  test('different machines: not comparable, exit 0 (nothing regressed); --ignore-environment compares', async () => {
    const base = write('base.json', 1)
    const head = JSON.parse(readFileSync(write('head.json', 1.5), 'utf8'))
    head.environment.cpuCount = 64
    writeFileSync(path.join(tmp, 'other-machine.json'), JSON.stringify(head))
    const r = await script('bench-compare.ts', [base, path.join(tmp, 'other-machine.json'), '--out', path.join(tmp, 'o3')])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('0 regressed, 0 improved, 0 unchanged, 2 not comparable; gating: 0 of 2 regressed\n  environments differ: cpuCount 4 → 64')
    const forced = await script('bench-compare.ts', [base, path.join(tmp, 'other-machine.json'), '--out', path.join(tmp, 'o3'), '--ignore-environment'])
    expect(forced.code).toBe(1)
    expect(forced.stdout).toContain('compared although the environments differ: cpuCount 4 → 64')
  })
})

describe('bench-report', () => {
  test('writes the four reports of one run next to it, or into --out', async () => {
    const dir = path.join(tmp, 'one-run')
    mkdirSync(dir)
    const file = path.join(dir, 'bench-x.json')
    writeFileSync(file, readFileSync(write('single.json', 1)))
    const r = await script('bench-report.ts', [file])
    expect(r.code).toBe(0)
    expect(readdirSync(dir).sort()).toEqual(['bench-x.json', 'benchmark-action.json', 'bmf.json', 'report.html', 'summary.md'])
    expect((await script('bench-report.ts', [file, '--out', path.join(tmp, 'elsewhere')])).code).toBe(0)
    expect(existsSync(path.join(tmp, 'elsewhere', 'report.html'))).toBe(true)
    expect((await script('bench-report.ts', [path.join(tmp, 'nope.json')])).code).toBe(2)
  })
})
