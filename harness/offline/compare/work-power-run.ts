/**
 * Running the work-power experiment (npm run bench:power -- --work; analysis in work-power.ts):
 * per cycle, for each condition — quiet, and with a CPU hog beside the run (one busy-looping Node
 * process per core, started before the run and killed by pid after it) — one run of the unchanged
 * code and one whose workers add a statement per step (BENCH_WORKER_EXTRA_STATEMENTS=1), in an
 * order alternating per cycle. Every run is a real `vitest bench --run` child with its own
 * PostgreSQL and orchestrator. Bounded by --max-minutes; the manifest in --out lets
 * `--work --analyse <dir>` re-judge the runs without running anything.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { claimDirectory } from './owned-directory.ts'
import os from 'node:os'
import path from 'node:path'
import { readResultsFile } from '../../results/read.ts'
import { logTail, runBenchChild } from './bench-child.ts'
import { UsageError } from './command-line.ts'
import { createProgress, formatDuration } from './progress.ts'
import { stopAfterCurrentRun } from './interruption.ts'
import { analyseWorkPower, formatWorkPowerTable, type WorkPowerRun } from './work-power.ts'

export interface WorkPowerOptions {
  root: string
  out: string
  cycles: number
  samples: number
  maxMinutes: number
  filters: readonly string[]
  bench: string
  /** with the hog condition (default true) */
  hog: boolean
}

export interface WorkPowerManifest {
  kind: 'work-power'
  bench: string
  filters: readonly string[]
  samples: number
  runs: Array<{ name: string; cycle: number; extra: number; hog: boolean; file: string; durationMs: number }>
}

export async function runWorkPower(o: WorkPowerOptions): Promise<number> {
  // Replaced only when an earlier bench-power made it (its marker), never a directory of someone else's.
  claimDirectory(o.out, 'bench-power', '--out')
  const progress = createProgress('bench-power', { quiet: false })
  const manifest: WorkPowerManifest = { kind: 'work-power', bench: o.bench, filters: o.filters, samples: o.samples, runs: [] }
  const save = () => writeFileSync(path.join(o.out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`)
  const deadline = Date.now() + o.maxMinutes * 60_000
  const interruption = stopAfterCurrentRun(progress)
  let runMs = 0
  try {
    for (let cycle = 1; cycle <= o.cycles; cycle++) {
      for (const hog of o.hog ? [false, true] : [false]) {
        const order = cycle % 2 === 1 ? [0, 1] : [1, 0]
        for (const extra of order) {
          const average = manifest.runs.length > 0 ? runMs / manifest.runs.length : 0
          if (interruption.requested) break
          if (Date.now() + average > deadline) {
            progress.warn(`--max-minutes ${o.maxMinutes} reached after ${manifest.runs.length} runs`)
            interruption.stop()
            break
          }
          const name = `run-${String(manifest.runs.length + 1).padStart(3, '0')}-c${cycle}-${hog ? 'hog' : 'quiet'}-extra${extra}`
          const hogs = hog ? startHogs() : []
          let result
          try {
            result = await runBenchChild({
              cwd: o.root,
              args: o.filters,
              resultsDir: path.join(o.out, name),
              logFile: path.join(o.out, `${name}.log`),
              timeoutMs: 15 * 60_000,
              env: { ...process.env, BENCH_TRACES: process.env.BENCH_TRACES ?? 'off', BENCH_E2E_SAMPLES: String(o.samples), BENCH_BUDGET_SCALE: '1000', BENCH_WORKER_EXTRA_STATEMENTS: String(extra) },
            })
          } finally {
            stopHogs(hogs)
          }
          runMs += result.durationMs
          if (!result.latest) {
            progress.warn(`${name}: no results (exit ${result.code ?? result.signal}); log ${result.logFile}:\n${logTail(result.logFile, 15)}`)
            continue
          }
          manifest.runs.push({ name, cycle, extra, hog, file: path.relative(o.out, result.latest), durationMs: Math.round(result.durationMs) })
          save()
          progress.step(`${name}: ${formatDuration(result.durationMs)}`)
        }
      }
      if (interruption.requested) break
    }
  } finally {
    interruption.dispose()
  }
  save()
  for (const line of formatWorkPowerTable(analyseWorkPower(readWorkPowerRuns(o.out), o.bench))) console.log(line)
  console.log(`runs and manifest: ${o.out} (re-judge with --work --analyse ${o.out})`)
  return 0
}

/** The runs of an experiment directory, read back. */
export function readWorkPowerRuns(dir: string): WorkPowerRun[] {
  const file = path.join(dir, 'manifest.json')
  if (!existsSync(file)) throw new UsageError(`--analyse ${dir}: no manifest.json (a directory written by bench:power --work)`)
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as WorkPowerManifest
  if (manifest.kind !== 'work-power') throw new UsageError(`--analyse ${dir}: a latency power experiment; drop --work to analyse it`)
  return manifest.runs.map((r) => ({ name: r.name, extra: r.extra, hog: r.hog, doc: readResultsFile(path.join(dir, r.file)) }))
}

/** One busy-looping process per core: the neighbour a shared CI runner may have. */
function startHogs(): ChildProcess[] {
  return Array.from({ length: os.availableParallelism() }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }))
}

function stopHogs(hogs: readonly ChildProcess[]): void {
  for (const h of hogs) if (h.exitCode === null && h.signalCode === null) h.kill('SIGKILL')
}
