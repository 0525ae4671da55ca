/**
 * The long-running scripts end to end, on a throwaway git repository holding a copy of this
 * checkout (two commits): worktrees with linked node_modules, the interleaved A/B run of the two
 * commits, and calibration from repeated runs. Each `vitest bench` runs the event-propagation
 * bench in the smoke profile without an orchestrator (~10 s a run).
 */
import { execFile, execFileSync } from 'node:child_process'
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { addWorktree, provideNodeModules, removeWorktree, resolveCommit } from '../harness/offline/compare/worktree.ts'
import { loadMargins } from '../harness/offline/compare/margins.ts'
import { readResultsFile } from '../harness/results/read.ts'

const ROOT = path.resolve(import.meta.dirname, '..')
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tasker-bench-ab-test-'))
const repo = path.join(tmp, 'repo')
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const git = (cwd: string, ...args: string[]) => execFileSync('git', ['-C', cwd, '-c', 'user.name=test', '-c', 'user.email=test@example.invalid', ...args], { encoding: 'utf8' }).trim()

/** Tracked and new files of this checkout, plus ignored ones under harness/, orchestrator/ and scripts/ (sources all). */
function checkoutFiles(): string[] {
  const list = (...args: string[]) => execFileSync('git', ['-C', ROOT, 'ls-files', '-z', ...args], { encoding: 'utf8' }).split('\0').filter(Boolean)
  return [...new Set([...list('-co', '--exclude-standard'), ...list('-oi', '--exclude-standard', '--', 'harness', 'orchestrator', 'scripts')])].filter((f) => existsSync(path.join(ROOT, f)))
}

beforeAll(() => {
  for (const file of checkoutFiles()) {
    mkdirSync(path.dirname(path.join(repo, file)), { recursive: true })
    copyFileSync(path.join(ROOT, file), path.join(repo, file))
  }
  git(repo, 'init', '-q')
  git(repo, 'add', '-A', '-f')
  git(repo, 'commit', '-q', '-m', 'base')
  appendFileSync(path.join(repo, 'README.md'), '\nA change that does not touch the code.\n')
  git(repo, 'commit', '-q', '-am', 'head')
  // the repository's own node_modules, linked package by package like the worktrees get it
  mkdirSync(path.join(repo, 'node_modules'))
  for (const entry of readdirSync(path.join(ROOT, 'node_modules'))) {
    if (entry !== '.vite') symlinkSync(path.join(ROOT, 'node_modules', entry), path.join(repo, 'node_modules', entry))
  }
}, 60_000)

const exec = promisify(execFile)
async function script(name: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(BENCH_|TASKER_|VITEST)/.test(k) && k !== 'DATABASE_URL' && k !== 'CI') env[k] = v
  }
  // informational: two smoke runs on a busy machine may well differ; this test is about the mechanics
  Object.assign(env, { BENCH_PROFILE: 'smoke', BENCH_ORCHESTRATOR: 'off', BENCH_POSTGRES: 'embedded', BENCH_REGRESSION: 'informational' })
  try {
    const { stdout, stderr } = await exec(process.execPath, [path.join(repo, 'scripts', name), ...args], { cwd: repo, env, timeout: 280_000 })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

describe('worktrees', () => {
  test('checked out at a commit, node_modules linked (the checkout stays clean), removed without a trace', () => {
    const dir = path.join(tmp, 'wt')
    const tree = addWorktree(repo, 'HEAD~1', dir)
    expect(tree.commit).toBe(git(repo, 'rev-parse', 'HEAD~1'))
    expect(provideNodeModules(tree, repo, path.join(tmp, 'npm.log'))).toBe('linked')
    expect(existsSync(path.join(dir, 'node_modules', 'vitest', 'package.json'))).toBe(true)
    expect(git(dir, 'status', '--porcelain')).toBe('') // results would otherwise say "<sha>-dirty"
    removeWorktree(repo, tree)
    expect(existsSync(dir)).toBe(false)
    expect(git(repo, 'worktree', 'list').split('\n')).toHaveLength(1)
    expect(existsSync(path.join(ROOT, 'node_modules', 'vitest', 'package.json'))).toBe(true) // the links' targets stay
  })

  test('an unknown ref is named, with a hint', () => {
    expect(() => resolveCommit(repo, 'origin/no-such-branch')).toThrow(/"origin\/no-such-branch" is not a commit in .*fetch-depth: 0/)
  })
})

describe('scripts/bench-ab.ts', () => {
  test('refuses to empty an --out directory it did not make', async () => {
    const foreign = path.join(tmp, 'foreign')
    mkdirSync(foreign)
    writeFileSync(path.join(foreign, 'keep.txt'), 'mine')
    const r = await script('bench-ab.ts', ['--base', 'HEAD~1', '--out', foreign])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--out .*foreign is not empty and was not made by bench-ab/)
    expect(readFileSync(path.join(foreign, 'keep.txt'), 'utf8')).toBe('mine')
  })

  test('benches base and head interleaved, gate rounds only the gating files, pools them, compares, writes the reports and removes its worktrees', async () => {
    const out = path.join(tmp, 'ab')
    const r = await script('bench-ab.ts', ['--base', 'HEAD~1', '--head', 'HEAD', '--rounds', '1', '--gate-rounds', '2', '--out', out, 'benchmarks/event-propagation.bench.ts', 'benchmarks/handler-overhead.bench.ts'])
    expect(r.stderr).toMatch(/round 1\/2 base \([0-9a-f]{7}\): vitest bench benchmarks\/event-propagation\.bench\.ts benchmarks\/handler-overhead\.bench\.ts … \[1\/4\]/)
    // round 2 is a gate round: handler-overhead holds no gating bench, so only event-propagation runs
    expect(r.stderr).toMatch(/gate rounds 2\.\.2: only benchmarks\/event-propagation\.bench\.ts \(traces off, SQL at 100K\)/)
    expect(r.stderr).toMatch(/round 2\/2 head \([0-9a-f]{7}\): vitest bench benchmarks\/event-propagation\.bench\.ts … \[3\/4\]/)
    expect(readResultsFile(path.join(out, 'round-2-head', 'latest.json')).results.map((e) => e.file)).not.toContain('handler-overhead')
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0)
    expect(r.stdout).toMatch(/^comparison with base [0-9a-f]{7}: \d+ regressed, \d+ improved, \d+ unchanged, \d+ not comparable; gating: \d+ of 1 regressed\n {2}margins: built-in defaults for paired rounds \(p50 \d+ %, p95 \d+ %, p99 \d+ %\)/)
    expect(r.stdout).toMatch(/\nreports: .*report\.html, .*summary\.md, .*bmf\.json, .*benchmark-action\.json, .*comparison\.json\n/)
    expect(readdirSync(out).sort()).toEqual(
      expect.arrayContaining(['base.json', 'head.json', 'round-1-base', 'round-1-base.log', 'round-1-head', 'round-1-head.log', 'summary.md', 'report.html', 'comparison.json']),
    )
    const base = readResultsFile(path.join(out, 'base.json'))
    const head = readResultsFile(path.join(out, 'head.json'))
    expect(base.environment.commit).toBe(git(repo, 'rev-parse', 'HEAD~1')) // clean worktrees: no "-dirty"
    expect(head.environment.commit).toBe(git(repo, 'rev-parse', 'HEAD'))
    expect(head.results.map((e) => e.bench)).toContain('notify small payload')
    expect(head.results.every((e) => e.samples && e.samples.length > 0)).toBe(true)
    const comparison = JSON.parse(readFileSync(path.join(out, 'comparison.json'), 'utf8'))
    expect(comparison).toMatchObject({ labels: { baseline: 'base', current: 'head' }, method: { rounds: 2, margins: 'built-in paired margins' }, environment: { comparable: true } })
    // notify small payload gates on p95 (not compared on the smoke profile's 20 samples: said so);
    // its line names the paired estimate
    const notify = comparison.benches.find((b: { bench: string }) => b.bench === 'notify small payload')
    expect(notify.gate).toBe('p95')
    expect(notify.reason).toMatch(/^p95 not compared: fewer than 100 samples on a side; p50 [+−±][\d.]+ % \([+−±][\d.]+ ms\) over 2 paired rounds \([+−]\d+ %, [+−]\d+ %\): /)
    const overhead = comparison.benches.find((b: { file: string }) => b.file === 'handler-overhead')
    expect(overhead.reason).toMatch(/over 1 paired round /)
    expect(readFileSync(path.join(out, 'summary.md'), 'utf8')).toMatch(/Interleaved A\/B: base `HEAD~1` [0-9a-f]{7}, head `HEAD` [0-9a-f]{7}, 2 rounds \(the last 1 of them only `event-propagation\.bench\.ts`\)/)
    expect(git(repo, 'worktree', 'list').split('\n')).toHaveLength(1)
  }, 300_000)
})

describe('scripts/bench-calibrate.ts', () => {
  test('runs the benches repeatedly and writes the proposed margins', async () => {
    const margins = path.join(tmp, 'margins.yaml')
    const r = await script('bench-calibrate.ts', ['--runs', '2', '--out', margins, 'benchmarks/event-propagation.bench.ts'])
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0)
    expect(r.stdout).toMatch(/^bench +p50: largest difference → margin +p95: largest difference → margin +p99: largest difference → margin\n/)
    expect(r.stdout).toMatch(/\nevent-propagation > notify small payload +[\d.]+ % \/ [\d.]+ ms → \d+ % \/ [\d.]+ ms/)
    expect(r.stdout).toMatch(/\nmargins: .*margins\.yaml \(5 benches from 2 runs; run results in results\/calibration\)\n/)
    const book = loadMargins(margins)
    expect(book.spec.benches['event-propagation']).toHaveProperty(['notify small payload', 'p50', 'relative'])
    expect(readFileSync(margins, 'utf8')).toMatch(/# calibrated \d{4}-\d\d-\d\d on .* × \d+, profile smoke, safety ×1; spread p50/)
    expect(readdirSync(path.join(repo, 'results', 'calibration')).sort()).toEqual(['.tasker-bench-calibrate', 'run-1', 'run-1.log', 'run-2', 'run-2.log'])
  }, 300_000)
})
