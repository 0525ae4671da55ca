/**
 * Compare two commits on one machine: bench base and head interleaved in adjacent pairs, then
 * judge each bench by the effect within the pairs, combined over the rounds (a paired design:
 * harness/offline/compare/paired-effect.ts). For pull-request checks on shared runners, whose speed swings
 * between jobs and within one: base and head of a round run back to back, so the machine's phase
 * hits both alike, and the rounds show how much the pairs still disagree.
 *
 *   node scripts/bench-ab.ts --base <ref> [--head <ref>] [--rounds 1] [--gate-rounds 1] [--out <dir>]
 *                            [--margins <file>] [--informational] [--timeout-minutes 45]
 *                            [<vitest bench filters or files>…]
 *
 * --base / --head  commits, branches or tags (head default HEAD); each is checked out into a
 *                  temporary git worktree, node_modules linked from this checkout when
 *                  package-lock.json is identical, else installed with npm ci
 * --rounds         1..20 rounds of every bench asked for; each runs base and head once, the order
 *                  alternating per round (base head, head base, …). More rounds: fairer and slower.
 * --gate-rounds    rounds in all for the gating benches (default 1, at least --rounds): the rounds
 *                  after --rounds run only the files that hold a gating bench, with traces off and
 *                  the SQL dataset at 100K tasks only (BENCH_TRACES=off, BENCH_SQL_SCALES=100000,
 *                  unless set), the conditions bench:power measured the check's power under.
 * --out            default <BENCH_RESULTS_DIR>/ab: per run round-<r>-<side>/ and its log, the
 *                  pooled base.json and head.json, and the reports (summary.md, report.html,
 *                  bmf.json, benchmark-action.json, comparison.json)
 * --margins        a margins file over the built-in paired margins (margins.ts: PAIRED_MARGINS, chosen
 *                  from npm run bench:power). Not the BENCH_MARGINS_FILE by default: calibrated
 *                  margins describe two single runs and would be needlessly wide for paired rounds.
 *
 * Work first: the work per task of base and head (statements, round trips, rows… per task, where
 * the results carry it) is compared from the first round, at tight margins (2 % and half a unit
 * per task; harness/offline/compare/work-compare.ts): a gating bench whose work grew fails the
 * check from that one round, and the report leads with the SQL diff (the statements whose calls,
 * rows or blocks per task changed). Then time: a metric regresses when the paired effect exceeds
 * its margin, stands out from the noise (within the pairs and between them) and most rounds agree
 * (harness/offline/compare/compare-runs.ts); only the headline metric of a gating bench fails the
 * check (gating.ts, BENCH_GATE). Environment differences between the two
 * commits (e.g. a PostgreSQL upgrade in the PR) are reported, not treated as "not comparable".
 * Exit codes: 0 no regression (or --informational / BENCH_REGRESSION=informational), 1 a regression,
 * or a head run that failed (a violated budget or an error: budgets are always enforced), 2 bad
 * arguments or set-up failure. A base that cannot be benchmarked is reported, not failed.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { loadSettings } from '../harness/config/settings.ts'
import { DEFAULT_GATE_ROUNDS, DEFAULT_ROUNDS, interleavedPlan, MAX_ROUNDS, type Side } from '../harness/offline/compare/ab-plan.ts'
import { gatingModules } from '../harness/offline/compare/gating.ts'
import { logTail, runBenchChild, type BenchChildResult } from '../harness/offline/compare/bench-child.ts'
import { compareRuns, hasRegression, type Comparison } from '../harness/offline/compare/compare-runs.ts'
import { loadMargins, MarginBook, PAIRED_MARGINS } from '../harness/offline/compare/margins.ts'
import { poolRounds } from '../harness/offline/compare/pool.ts'
import { createProgress, formatDuration } from '../harness/offline/compare/progress.ts'
import { stopAfterCurrentRun } from '../harness/offline/compare/interruption.ts'
import { loadCompareSettings } from '../harness/offline/compare/settings.ts'
import { addWorktree, provideNodeModules, removeWorktree, repositoryRoot, type Worktree } from '../harness/offline/compare/worktree.ts'
import { readResultsFile } from '../harness/results/read.ts'
import type { ResultsDocument } from '../harness/results/schema.ts'
import { shortCommit } from '../harness/results/format.ts'
import { comparisonLines, shownPath } from '../harness/offline/report/terminal.ts'
import { writeReports } from '../harness/offline/report/write-reports.ts'
import { runCommand, wholeNumber } from '../harness/offline/compare/command-line.ts'

const OUT_MARKER = '.bench-ab'

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    options: {
      base: { type: 'string' },
      head: { type: 'string', default: 'HEAD' },
      rounds: { type: 'string', default: String(DEFAULT_ROUNDS) },
      'gate-rounds': { type: 'string' },
      out: { type: 'string' },
      margins: { type: 'string' },
      informational: { type: 'boolean' },
      'timeout-minutes': { type: 'string', default: '45' },
      'keep-worktrees': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  })
  if (values.help || !values.base) {
    console.log('usage: node scripts/bench-ab.ts --base <ref> [--head HEAD] [--rounds 1] [--gate-rounds 1] [--out dir] [--margins file] [--informational] [--timeout-minutes 45] [filters…]')
    return values.help ? 0 : 2
  }
  const rounds = wholeNumber(values.rounds, '--rounds', 1, MAX_ROUNDS)
  const gateRounds = values['gate-rounds'] === undefined ? Math.max(rounds, DEFAULT_GATE_ROUNDS) : wholeNumber(values['gate-rounds'], '--gate-rounds', rounds, MAX_ROUNDS)
  const plan = interleavedPlan(rounds, gateRounds)
  const timeoutMinutes = Number(values['timeout-minutes'])
  if (!Number.isInteger(timeoutMinutes) || timeoutMinutes < 1 || timeoutMinutes > 24 * 60) throw new Error(`--timeout-minutes ${values['timeout-minutes']}: expected a whole number within 1..1440`)

  if (rounds === 1 && gateRounds === 1) {
    console.error('bench-ab: warning: with 1 round the disagreement between pairs is not measured, so drift inside the pair can pass for a time regression; use --rounds 3 or more for a time check (the work per task is judged from one round)')
  }
  const repo = repositoryRoot(process.cwd())
  const settings = loadSettings({ root: repo })
  const compare = loadCompareSettings({ root: repo })
  const policy = values.informational ? 'informational' : compare.regression
  const progress = createProgress('bench-ab', { quiet: !compare.progress })
  const out = path.resolve(values.out ?? path.join(repo, settings.BENCH_RESULTS_DIR, 'ab'))
  prepareOutDir(out)

  const scratch = mkdtempSync(path.join(os.tmpdir(), 'tasker-bench-ab-'))
  const trees: Partial<Record<Side, Worktree>> = {}
  const interruption = stopAfterCurrentRun(progress, 'and removing the worktrees')
  try {
    for (const side of ['base', 'head'] as const) {
      const ref = side === 'base' ? values.base : values.head!
      const tree = addWorktree(repo, ref, path.join(scratch, side))
      trees[side] = tree
      const how = provideNodeModules(tree, repo, path.join(out, `${side}-npm-ci.log`))
      progress.step(`${side}: ${ref} at ${shortCommit(tree.commit)}, node_modules ${how}`)
    }
    if (trees.base!.commit === trees.head!.commit) progress.warn(`base and head are the same commit ${shortCommit(trees.base!.commit)}: an A/A run, useful to check that nothing is flagged`)

    // the same settings file for both sides, so neither silently runs in another mode
    const envFile = path.join(repo, '.env')
    const env: NodeJS.ProcessEnv = { ...process.env, ...(existsSync(envFile) && !process.env.BENCH_ENV_FILE ? { BENCH_ENV_FILE: envFile } : {}) }
    const runs: Record<Side, Array<{ round: number; result: BenchChildResult; doc?: ResultsDocument }>> = { base: [], head: [] }
    // the gate rounds' files: those of the first rounds' results that hold a gating bench
    let gatingFiles: string[] | undefined
    for (const [i, step] of plan.entries()) {
      if (interruption.requested) break
      if (step.scope === 'gating' && gatingFiles === undefined) {
        gatingFiles = gatingModules([...runs.base, ...runs.head].flatMap((r) => r.doc?.results ?? []), compare.gates)
        if (gatingFiles.length === 0) {
          progress.step(`no gating bench among the benches run: the ${gateRounds - rounds} gate rounds are skipped`)
          break
        }
        progress.step(`gate rounds ${rounds + 1}..${gateRounds}: only ${gatingFiles.join(' ')} (traces off, SQL at 100K)`)
      }
      const tree = trees[step.side]!
      const args = step.scope === 'gating' ? gatingFiles! : positionals
      const label = `round ${step.round}/${gateRounds} ${step.side} (${shortCommit(tree.commit)})`
      progress.step(`${label}: vitest bench ${args.join(' ') || '(every bench)'} … [${i + 1}/${plan.length}]`)
      const result = await runBenchChild({
        cwd: tree.dir,
        args,
        resultsDir: path.join(out, `round-${step.round}-${step.side}`),
        logFile: path.join(out, `round-${step.round}-${step.side}.log`),
        timeoutMs: timeoutMinutes * 60_000,
        env: step.scope === 'gating' ? { BENCH_TRACES: 'off', BENCH_SQL_SCALES: '100000', ...env } : env,
        echo: settings.BENCH_VERBOSE,
      })
      const doc = result.latest ? readResultsFile(result.latest) : undefined
      runs[step.side].push({ round: step.round, result, ...(doc ? { doc } : {}) })
      const status = result.code === 0 ? 'ok' : doc ? `exit ${result.code ?? result.signal} (results kept)` : `no results (exit ${result.code ?? result.signal}${result.timedOut ? ', timed out' : ''})`
      progress.step(`${label}: ${status} in ${formatDuration(result.durationMs)}`)
      if (!doc) {
        progress.warn(`${label} produced no results; stopping. Log ${shownPath(result.logFile)}:\n${logTail(result.logFile, 30)}`)
        break
      }
    }

    const headFailed = runs.head.filter((r) => r.result.code !== 0)
    const baseDocs = pairedDocs(runs.base)
    const headDocs = pairedDocs(runs.head)
    let exitCode = headFailed.length > 0 ? 1 : 0
    if (headDocs.length === 0) {
      console.error('bench-ab: the head produced no results; see the logs in ' + shownPath(out))
      return 1
    }
    const head = poolRounds(headDocs)
    writeJson(path.join(out, 'head.json'), head)
    let comparison: Comparison | undefined
    let base: ResultsDocument | undefined
    if (baseDocs.length === 0) {
      progress.warn('the base produced no results, so nothing is compared (reports show the head alone)')
    } else {
      base = poolRounds(baseDocs)
      writeJson(path.join(out, 'base.json'), base)
      const margins = values.margins ? loadMargins(path.resolve(values.margins), values.margins, PAIRED_MARGINS) : new MarginBook(undefined, 'built-in paired margins', PAIRED_MARGINS)
      const paired = runs.base.flatMap((b) => {
        const h = runs.head.find((x) => x.round === b.round)
        return b.doc && h?.doc ? [{ base: b.doc, head: h.doc }] : []
      })
      comparison = compareRuns(base, head, {
        margins,
        gates: compare.gates,
        ignoreEnvironment: true,
        rounds: { baseline: paired.map((p) => p.base), current: paired.map((p) => p.head) },
        labels: { baseline: 'base', current: 'head' },
      })
    }
    const failedNote = headFailed.length > 0 ? `\n\n**Head runs failed** (violated budgets or errors) in round ${headFailed.map((r) => r.round).join(', ')}: see \`round-<r>-head.log\`.` : ''
    const footer = `Interleaved A/B: base \`${values.base}\` ${shortCommit(trees.base!.commit)}, head \`${values.head}\` ${shortCommit(trees.head!.commit)}, ${Math.min(baseDocs.length, headDocs.length)} rounds${gatingFiles && gatingFiles.length > 0 ? ` (the last ${Math.min(baseDocs.length, headDocs.length) - rounds} of them only ${gatingFiles.map((f) => `\`${path.basename(f)}\``).join(', ')})` : ''}. Charts: report.html in the workflow's artifacts.${failedNote}`
    const paths = writeReports(out, { current: head, ...(base ? { baseline: base } : {}), ...(comparison ? { comparison, policy } : {}), footer })

    if (comparison) for (const line of comparisonLines(comparison, `base ${shortCommit(trees.base!.commit)}`)) console.log(line)
    for (const r of headFailed) console.log(`head run of round ${r.round} failed (exit ${r.result.code ?? r.result.signal}): violated budgets or errors, see ${shownPath(r.result.logFile)}`)
    console.log(`reports: ${[paths.html, paths.markdown, paths.bmf, paths.benchmarkAction, ...(paths.comparison ? [paths.comparison] : [])].map((p) => shownPath(p)).join(', ')}`)
    if (comparison && hasRegression(comparison)) {
      if (policy === 'blocking') {
        console.log('gating regression: exit code 1 (--informational or BENCH_REGRESSION=informational reports without failing)')
        exitCode = 1
      } else {
        console.log('regression reported only (informational)')
      }
    }
    if (interruption.requested) return 130
    return exitCode
  } finally {
    interruption.dispose()
    for (const tree of Object.values(trees)) {
      if (!values['keep-worktrees']) removeWorktree(repo, tree)
    }
    if (!values['keep-worktrees']) rmSync(scratch, { recursive: true, force: true })
    else progress.step(`worktrees kept in ${scratch} (remove with git worktree remove)`)
  }
}

/** Rounds in which this side produced results, in round order. */
function pairedDocs(runs: ReadonlyArray<{ round: number; doc?: ResultsDocument }>): ResultsDocument[] {
  return [...runs].sort((a, b) => a.round - b.round).flatMap((r) => (r.doc ? [r.doc] : []))
}

/** The out directory is ours: empty it if an earlier A/B run made it, refuse anything else. */
function prepareOutDir(out: string): void {
  if (existsSync(out) && readdirSync(out).length > 0) {
    if (!existsSync(path.join(out, OUT_MARKER))) throw new Error(`--out ${out} is not empty and was not made by bench-ab; choose an empty or new directory`)
    rmSync(out, { recursive: true, force: true })
  }
  mkdirSync(out, { recursive: true })
  writeFileSync(path.join(out, OUT_MARKER), 'made by scripts/bench-ab.ts; emptied by its next run\n')
}

function writeJson(file: string, value: unknown): void {
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`)
}

runCommand('bench-ab', main)
