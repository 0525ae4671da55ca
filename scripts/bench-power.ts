/**
 * How well does the pull-request check catch a real regression, and how often does it cry wolf?
 * Measured on REAL reruns on this machine, never on simulated samples:
 *
 *   npm run bench:power -- [--cycles 10] [--effects 10,20,30,40] [--samples 200] [--rounds 1]
 *                          [--max-minutes 50] [--out results/power] [--analyse <dir>[,<dir>…]]
 *                          [--bench <id>] [--judge <id>] [filters…]
 *
 * --bench names the bench whose p50 sizes the slowdowns (default "e2e-latency > e2e linear"),
 * --judge the one whose verdicts are tabulated (default: --bench). The drift-normalized figure of
 * single-run comparisons is measured with
 *   --bench "baselines > e2e linear (interleaved)" --judge "baselines > efficiency linear e2e/floor"
 *   benchmarks/baselines.bench.ts -t "linear workflow"
 *
 * 1. Slowdowns: X % is injected as a worker delay before every handler (BENCH_WORKER_STEP_DELAY_MS,
 *    the experiment knob of the reference orchestrator) of X % × p50 / steps, so a linear task of
 *    3 steps is X % slower. p50 is the median p50 of the last (up to) 7 runs of the unchanged code
 *    (one reference run starts the experiment): it follows a machine whose speed changes over the
 *    experiment, but one lucky or unlucky run (single runs differ by ~13 % here) does not resize
 *    the slowdown — sizing by the latest run alone added that run's luck to the realised effect.
 *    The realised effect (head / base of each pair) is measured and printed next to the nominal one.
 * 2. Cycles: each cycle runs one adjacent base/head pair per condition — identical code (0 %) and
 *    every slowdown — the order within a pair alternating and the conditions rotating between
 *    cycles (harness/offline/compare/power-plan.ts). Every run is a real `vitest bench --run` child process
 *    with its own PostgreSQL and orchestrator, restricted by default to the linear workflow
 *    (benchmarks/e2e-latency.bench.ts -t "linear workflow") with BENCH_E2E_SAMPLES samples.
 * 3. Trials from the pool of real pairs: a bench:ab trial is R of the condition's real adjacent
 *    pairs (every combination of R pairs, or a seeded sample of 2000 when there are more), judged
 *    by the same code as bench:ab (compareRuns with rounds). The share of trials flagged
 *    "regressed" is the power (the false-alarm rate at 0 %). Trials share pairs, so they are not
 *    independent: the number of real pairs behind each row is printed with it.
 *    A bench:compare trial is two single runs: every ordered pair of the first 10 identical-code
 *    runs (false alarms), and every slowed run against every identical-code run of its own cycle
 *    and the next (power), judged by the same code as bench:compare with the default margins.
 *
 * --work [--no-hog]: the work comparison's power instead (harness/offline/compare/work-power-run.ts):
 * runs of the unchanged code and runs whose workers add one statement per step
 * (BENCH_WORKER_EXTRA_STATEMENTS=1), quiet and beside a CPU hog; prints the spread of every counter
 * per task over the identical runs and how often one round flags the extra statement, and
 * identical code. `--work --analyse <dir>` re-judges such an experiment.
 *
 * Budgets are scaled out of the way (BENCH_BUDGET_SCALE=1000): this measures the comparison, not
 * the budgets. Traces are off unless BENCH_TRACES says otherwise: waiting for every task's trace
 * quadruples a run's time, and the phase rows they add only inform. The runs stay in --out with a manifest, so `--analyse <dir>` re-judges them (e.g.
 * with other rounds) without running anything. A later run replaces --out only when it carries
 * bench-power's marker (.tasker-bench-power, written when it made the directory); any other
 * existing, non-empty directory is refused. Progress goes to stderr; bounded by --max-minutes
 * (no pair is started that would not finish in time, by the duration of the pairs so far).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { loadSettings } from '../harness/config/settings.ts'
import { logTail, runBenchChild } from '../harness/offline/compare/bench-child.ts'
import { analysePower, formatPowerTable, type PowerManifest, type PowerRunRecord } from '../harness/offline/compare/power.ts'
import { powerPlan, sizingP50, stepDelayFor } from '../harness/offline/compare/power-plan.ts'
import { DEFAULT_GATE_ROUNDS, MAX_ROUNDS } from '../harness/offline/compare/ab-plan.ts'
import { createProgress, formatDuration } from '../harness/offline/compare/progress.ts'
import { stopAfterCurrentRun } from '../harness/offline/compare/interruption.ts'
import { readResultsFile } from '../harness/results/read.ts'
import { shownPath } from '../harness/offline/report/terminal.ts'
import { UsageError, runCommand, wholeNumber } from '../harness/offline/compare/command-line.ts'
import { claimDirectory } from '../harness/offline/compare/owned-directory.ts'
import { readWorkPowerRuns, runWorkPower } from '../harness/offline/compare/work-power-run.ts'
import { analyseWorkPower, formatWorkPowerTable } from '../harness/offline/compare/work-power.ts'

const ROOT = path.resolve(import.meta.dirname, '..')
const DEFAULT_FILTERS = ['benchmarks/e2e-latency.bench.ts', '-t', 'linear workflow']
const BENCH_ID = 'e2e-latency > e2e linear'

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    options: {
      cycles: { type: 'string', default: '10' },
      effects: { type: 'string', default: '10,20,30,40' },
      samples: { type: 'string', default: '200' },
      rounds: { type: 'string', default: String(DEFAULT_GATE_ROUNDS) },
      'max-minutes': { type: 'string', default: '50' },
      out: { type: 'string' },
      analyse: { type: 'string' },
      since: { type: 'string' },
      bench: { type: 'string', default: BENCH_ID },
      judge: { type: 'string' },
      work: { type: 'boolean' },
      'no-hog': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  })
  if (values.help) {
    console.log('usage: node scripts/bench-power.ts [--cycles 10] [--effects 10,20,30,40] [--samples 200] [--rounds 1] [--max-minutes 50] [--out dir] [--analyse dir[,dir…] [--since time]] [--bench id] [--judge id] [filters…]')
    return 0
  }
  const rounds = wholeNumber(values.rounds, '--rounds', 1, MAX_ROUNDS)
  if (values.work && values.analyse) {
    const runs = values.analyse.split(',').flatMap((d) => readWorkPowerRuns(path.resolve(d.trim())))
    for (const line of formatWorkPowerTable(analyseWorkPower(runs, values.judge ?? values.bench!))) console.log(line)
    return 0
  }
  if (values.analyse) {
    const since = values.since === undefined ? undefined : Date.parse(values.since)
    if (since !== undefined && Number.isNaN(since)) throw new UsageError(`--since ${values.since}: expected a time such as 2026-12-04T17:28:00Z`)
    const experiments = values.analyse.split(',').map((d) => {
      const dir = path.resolve(d.trim())
      const manifest = readManifest(dir)
      // runs that finished at or after --since (e.g. once the machine's neighbours quietened down)
      if (since !== undefined) manifest.runs = manifest.runs.filter((r) => Date.parse(r.at) - r.durationMs >= since)
      return { manifest, dir }
    })
    const judge = values.judge ?? experiments[0]!.manifest.judge ?? experiments[0]!.manifest.bench
    for (const line of formatPowerTable(analysePower(experiments, { rounds, bench: judge }))) console.log(line)
    return 0
  }
  const cycles = wholeNumber(values.cycles, '--cycles', 1, 100)
  const samples = wholeNumber(values.samples, '--samples', 20, 100_000)
  const maxMinutes = wholeNumber(values['max-minutes'], '--max-minutes', 1, 24 * 60)
  const effects = values.effects!.split(',').map((s) => {
    const n = Number(s.trim())
    if (!Number.isFinite(n) || n <= 0 || n > 500) throw new UsageError(`--effects ${values.effects}: expected percentages within 1..500, e.g. 10,20,40`)
    return n / 100
  })
  const settings = loadSettings({ root: ROOT })
  if (values.work) {
    const out = path.resolve(values.out ?? path.join(ROOT, settings.BENCH_RESULTS_DIR, 'power-work'))
    const filters = positionals.length > 0 ? positionals : DEFAULT_FILTERS
    return runWorkPower({ root: ROOT, out, cycles, samples, maxMinutes, filters, bench: values.judge ?? values.bench!, hog: !values['no-hog'] })
  }
  const out = path.resolve(values.out ?? path.join(ROOT, settings.BENCH_RESULTS_DIR, 'power'))
  // Replaced only when an earlier bench-power made it (its marker), never a directory of someone else's.
  claimDirectory(out, 'bench-power', values.out === undefined ? '--out (default)' : '--out')
  const filters = positionals.length > 0 ? positionals : DEFAULT_FILTERS
  const progress = createProgress('bench-power', { quiet: false })
  const started = Date.now()
  const deadline = started + maxMinutes * 60_000
  const manifest: PowerManifest = { bench: values.bench!, ...(values.judge ? { judge: values.judge } : {}), filters, samples, startedAt: new Date(started).toISOString(), reference: { p50Ms: 0, steps: 0 }, runs: [] }
  const save = () => writeFileSync(path.join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`)

  const interruption = stopAfterCurrentRun(progress)

  let runIndex = 0
  const runOnce = async (cycle: number, effect: number, side: 'base' | 'head', delayMs: number): Promise<PowerRunRecord | undefined> => {
    const name = `run-${String(++runIndex).padStart(3, '0')}-c${cycle}-${Math.round(effect * 100)}pct-${side}`
    const result = await runBenchChild({
      cwd: ROOT,
      args: filters,
      resultsDir: path.join(out, name),
      logFile: path.join(out, `${name}.log`),
      timeoutMs: 10 * 60_000,
      env: { ...process.env, BENCH_TRACES: process.env.BENCH_TRACES ?? 'off', BENCH_E2E_SAMPLES: String(samples), BENCH_BUDGET_SCALE: '1000', BENCH_WORKER_STEP_DELAY_MS: String(delayMs) },
    })
    if (!result.latest) {
      progress.warn(`${name}: no results (exit ${result.code ?? result.signal}); log ${shownPath(result.logFile)}:\n${logTail(result.logFile, 15)}`)
      return undefined
    }
    const record: PowerRunRecord = { name, cycle, effect, side, delayMs, file: path.relative(out, result.latest), durationMs: Math.round(result.durationMs), at: new Date().toISOString() }
    manifest.runs.push(record)
    save()
    return record
  }

  // 1. the reference run: the first p50 that sizes the slowdowns
  progress.step(`reference: 1 run of the unchanged code (${filters.join(' ')}, ${samples} samples)`)
  const identicalP50s: number[] = []
  const p50Of = (r: PowerRunRecord): number => {
    const entry = readResultsFile(path.join(out, r.file)).results.find((e) => `${e.file} > ${e.bench}` === values.bench)
    if (!entry) throw new UsageError(`the runs measured no "${values.bench}" (--bench names the measured bench as "<file> > <bench>")`)
    manifest.reference.steps = Number(entry.extra?.steps ?? 1)
    return entry.p50
  }
  const reference = interruption.requested ? undefined : await runOnce(0, 0, 'base', 0)
  if (!reference) return 1
  identicalP50s.push(p50Of(reference))
  manifest.reference.p50Ms = identicalP50s[0]!
  save()
  progress.step(`reference p50 ${manifest.reference.p50Ms.toFixed(2)} ms over ${manifest.reference.steps} steps; each slowdown's delay follows the median of the last 7 identical-code runs`)

  // 2. the cycles of adjacent pairs
  const plan = powerPlan(cycles, effects)
  let pairMs = 0
  let pairs = 0
  for (let i = 0; i < plan.length; i += 2) {
    const first = plan[i]!
    const second = plan[i + 1]!
    const expected = pairs > 0 ? pairMs / pairs : 0
    if (interruption.requested) break
    if (Date.now() + expected > deadline) {
      progress.warn(`--max-minutes ${maxMinutes} reached: stopping after ${pairs} pairs of ${plan.length / 2}`)
      break
    }
    const t0 = Date.now()
    const delay = (side: 'base' | 'head', effect: number) => (side === 'head' ? stepDelayFor(effect, sizingP50(identicalP50s), manifest.reference.steps) : 0)
    const track = (r: PowerRunRecord | undefined) => {
      if (r && r.delayMs === 0) identicalP50s.push(p50Of(r))
      return r
    }
    const a = track(await runOnce(first.cycle, first.effect, first.side, delay(first.side, first.effect)))
    const b = a && track(await runOnce(second.cycle, second.effect, second.side, delay(second.side, second.effect)))
    pairMs += Date.now() - t0
    pairs++
    progress.step(`pair ${pairs}/${plan.length / 2}: cycle ${first.cycle}, ${Math.round(first.effect * 100)} %, ${first.side} then ${second.side}${b ? '' : ' (incomplete)'} — ${formatDuration(Date.now() - started)} so far`)
  }
  save()
  for (const line of formatPowerTable(analysePower([{ manifest, dir: out }], { rounds, bench: values.judge ?? values.bench! }))) console.log(line)
  console.log(`runs and manifest: ${shownPath(out)} (re-judge with --analyse ${shownPath(out)})`)
  return 0
}

function readManifest(dir: string): PowerManifest {
  const file = path.join(dir, 'manifest.json')
  if (!existsSync(file)) throw new UsageError(`--analyse ${dir}: no manifest.json (a directory written by bench:power)`)
  return JSON.parse(readFileSync(file, 'utf8')) as PowerManifest
}

runCommand('bench-power', main)
