/**
 * The pull-request workflow, read as GitHub would: it runs on pull requests, benches base and head
 * with the A/B script that exists, and publishes the summary the script writes — so renaming a
 * script or an output file cannot silently break the check.
 */
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { expect, test } from 'vitest'
import { parse } from 'yaml'
import { COMMENT_MARKER } from '../harness/offline/report/markdown.ts'
import { REPORT_FILES } from '../harness/offline/report/write-reports.ts'
import { DEFAULT_GATE_ROUNDS } from '../harness/offline/compare/ab-plan.ts'

const ROOT = path.resolve(import.meta.dirname, '..')
const workflow = parse(readFileSync(path.join(ROOT, '.github/workflows/bench.yml'), 'utf8'))
type Step = { name?: string; uses?: string; run?: string; if?: string; with?: Record<string, string>; 'continue-on-error'?: boolean }
const steps: Step[] = workflow.jobs.compare.steps

test('compares on pull requests (may comment, cancels superseded runs); calibrates when run by hand', () => {
  expect(Object.keys(workflow.on)).toEqual(['pull_request', 'workflow_dispatch'])
  expect(workflow.jobs.compare.if).toBe("github.event_name == 'pull_request'")
  expect(workflow.jobs.calibrate.if).toBe("github.event_name == 'workflow_dispatch'")
  const calibrate: Step[] = workflow.jobs.calibrate.steps
  expect(calibrate.find((s) => s.run?.includes('scripts/bench-calibrate.ts'))!.run).toMatch(/node_modules\/\.bin\/node scripts\/bench-calibrate\.ts --runs "\$RUNS" --out results\/margins\.yaml/)
  expect(existsSync(path.join(ROOT, 'scripts/bench-calibrate.ts'))).toBe(true)
  expect(workflow.permissions).toEqual({ contents: 'read', 'pull-requests': 'write' })
  expect(workflow.concurrency['cancel-in-progress']).toBe(true)
  expect(workflow.jobs.compare['timeout-minutes']).toBeGreaterThan(0)
})

test('installs with npm ci and benches base and head with scripts/bench-ab.ts into results/ab', () => {
  expect(steps.find((s) => s.uses?.startsWith('actions/checkout'))?.with).toMatchObject({ 'fetch-depth': 0 })
  expect(steps.some((s) => s.run?.trim() === 'npm ci --no-audit --no-fund')).toBe(true)
  const ab = steps.find((s) => s.run?.includes('scripts/bench-ab.ts'))!
  expect(ab.run).toMatch(/node_modules\/\.bin\/node scripts\/bench-ab\.ts\s+\\\s*\n\s*--base "\$BASE_REF" --head HEAD --rounds "\$AB_ROUNDS" --gate-rounds "\$AB_GATE_ROUNDS" \\\s*\n\s*--out results\/ab/)
  // the gating benches' rounds default to what bench:power chose (harness/offline/compare/ab-plan.ts)
  expect(workflow.jobs.compare.env.AB_GATE_ROUNDS).toBe(`\${{ vars.BENCH_AB_GATE_ROUNDS || '${DEFAULT_GATE_ROUNDS}' }}`)
  expect(existsSync(path.join(ROOT, 'scripts/bench-ab.ts'))).toBe(true)
  // regressions blocking or informational by a repository variable, blocking by default
  expect(workflow.jobs.compare.env.BENCH_REGRESSION).toBe("${{ vars.BENCH_REGRESSION || 'blocking' }}")
  // untrusted values reach the shell through the environment, never pasted into the script
  expect(ab.run).not.toMatch(/\$\{\{/)
})

test('publishes the summary to the job summary and one PR comment, keeps the reports, even after a failure', () => {
  const summary = steps.find((s) => s.run?.includes('GITHUB_STEP_SUMMARY'))!
  expect(summary.if).toBe('always()')
  expect(summary.run).toContain(`results/ab/${REPORT_FILES.markdown}`)
  const comment = steps.find((s) => s.uses?.startsWith('actions/github-script'))!
  expect(comment.if).toContain('always()')
  expect(comment['continue-on-error']).toBe(true)
  expect(comment.with!.script).toContain(`'${COMMENT_MARKER}'`) // finds its earlier comment by the summary's first line
  expect(comment.with!.script).toContain(`results/ab/${REPORT_FILES.markdown}`)
  const upload = steps.find((s) => s.uses?.startsWith('actions/upload-artifact'))!
  expect(upload.if).toBe('always()')
  expect(upload.with!.path).toContain('results/ab/')
})
