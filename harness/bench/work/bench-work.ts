/**
 * Work per task for a bench file that drives tasks: `const work = workPerTask(run, 'e2e')` at the
 * top of the file registers the hooks that open (lazily) and close the meter, and
 * `await work.measure(task, name, async () => { …run the bench…; return tasksCompleted })`
 * counts what happened around the measured window, records it with the measurement `name`
 * (budgetable as `statements/task<…`, see harness/results/work.ts) and prints one line.
 *
 * Where the counters come from is decided once per file: the server the orchestrator works on,
 * read-only unless the suite owns it (harness/bench/work/pg-stats.ts). Without pg_stat_statements
 * one line says what is missing and the bench runs unchanged.
 */
import { afterAll } from 'vitest'
import type { RunnerTestCase } from 'vitest'
import { redactUrl } from '../../config/settings.ts'
import { taskerMeta } from '../../results/meta.ts'
import type { RunInfo } from '../../results/run-info.ts'
import type { WorkMeasurement } from '../../results/work.ts'
import { workLine } from '../../results/work-line.ts'
import { annotateResult } from '../record.ts'
import { databaseName } from '../../db/database-url.ts'
import { pgLimits } from '../../db/limits.ts'
import { openWorkMeter, type CpuAttribution, type WindowResult, type WorkMeter } from './work-meter.ts'

/**
 * Timer-driven statements are measured for this long before the file's first window: longer than
 * the reference orchestrator's slowest timer (lost-step recovery, every TASKER_STALE_ENQUEUED_S / 2
 * = 15 s), so each timer is seen at least once and none is counted as work per task.
 */
export const IDLE_WINDOW_MS = 16_000
/**
 * The smoke profile (npm test) proves the counters work on windows of a few tasks; 3 s sees the
 * fallback polls, and a recovery sweep left in a window adds about one statement per task there.
 */
export const SMOKE_IDLE_WINDOW_MS = 3_000
/** Backends flush pg_stat_database when idle after at most 10 s (PostgreSQL's PGSTAT_IDLE_INTERVAL). */
export const SETTLE_MAX_MS = 11_000

type Task = Pick<RunnerTestCase, 'meta'>

export interface BenchWork {
  /** the database names a window can be attributed to (the orchestrator's first) */
  readonly databases: Promise<string[]>
  /** runs `body` (which returns the tasks it completed) inside a window and records its work as `name` */
  measure(task: Task, name: string, body: () => Promise<number>): Promise<WorkMeasurement | undefined>
  /** the same for a body that returns something else: `tasks` says how many tasks it completed */
  around<T>(task: Task, name: string, body: () => Promise<T>, tasks: (value: T) => number): Promise<T>
  /**
   * Inside measure/around's body (e.g. in tinybench's beforeAll('run'), untimed): starts the open
   * window again here, so the warm-up's work is not counted; with `vacuumBeforeWindows`, after a
   * VACUUM (ANALYZE), except in the file's first window: its tables hold only the warm-up's tasks,
   * and statistics of nearly empty tables give plans (seq scans) whose cost grows with the window,
   * where the planner's guess for tables never analyzed does not. The body returns the tasks since.
   */
  restart(): Promise<void>
  /** the same for several systems in one window (baselines): body returns tasks per name */
  measureEach(task: Task, body: () => Promise<Record<string, { tasks: number; databases?: string[]; cpu?: CpuAttribution }>>): Promise<Record<string, WorkMeasurement>>
}

/** Records `work` under the measurement `name` of this test (the hooks attach it to the measurement). */
export function recordWork(task: Task, name: string, work: WorkMeasurement): void {
  const meta = taskerMeta(task)
  meta.work = { ...meta.work, [name]: JSON.parse(JSON.stringify(work)) as WorkMeasurement }
}

export interface WorkPerTaskOptions {
  /**
   * Table state that depends on the tasks run, not on time, on a server the suite owns only
   * (quiet-tables.ts): autovacuum paused from the first window until the file ends, VACUUM
   * (ANALYZE) at restart(). For benches of windows of tasks (e2e latency) whose blocks per task
   * must repeat on a loaded machine; not for long load windows, whose latency includes autovacuum.
   */
  vacuumBeforeWindows?: boolean
}

export function workPerTask(run: RunInfo, label: string, extraDatabases: () => string[] = () => [], options: WorkPerTaskOptions = {}): BenchWork {
  let meter: Promise<WorkMeter | { missing: string }> | undefined
  /** the window measure/around has open (restart replaces it) */
  let current: { stop(): Promise<WindowResult> } | undefined
  let windows = 0
  let said = false
  const orchestratorDb = databaseName(run.databaseUrl)
  const databases = async () => [orchestratorDb, ...extraDatabases()]
  const open = () =>
    (meter ??= databases().then((dbs) =>
      openWorkMeter({
        statsUrl: run.targetDatabaseUrl,
        owned: run.postgres.owned,
        databases: dbs,
        root: run.settings.root,
        limits: pgLimits(run.settings),
        idleMs: run.profile === 'smoke' ? SMOKE_IDLE_WINDOW_MS : IDLE_WINDOW_MS,
        settleMs: SETTLE_MAX_MS,
        otherActivity: run.postgres.owned
          ? `none expected: the suite's own ${run.postgres.mode} server, used only by the system under test and the suite (whose own probes are left out)`
          : `possible: ${redactUrl(run.targetDatabaseUrl)} is not the suite's server; other clients of ${dbs.join(', ')} would be counted`,
        selfName: `node: bench (${label})`,
        vacuumBeforeWindows: options.vacuumBeforeWindows === true && run.postgres.owned,
      }),
    ))
  afterAll(async () => {
    const m = await meter?.catch(() => undefined)
    if (m && 'close' in m) await m.close()
  })
  const window = async (task: Task): Promise<{ stop(): Promise<WindowResult> } | undefined> => {
    const m = await open()
    if ('missing' in m) {
      if (!said) console.log(`[${label}] ${m.missing}`)
      said = true
      annotateResult(task, { workUnavailable: m.missing })
      return undefined
    }
    return m.start()
  }
  async function around<T>(task: Task, name: string, body: () => Promise<T>, count: (value: T) => number, seen?: (w: WorkMeasurement) => void): Promise<T> {
    current = await window(task)
    windows++
    let value: T
    try {
      value = await body()
    } catch (err) {
      current = undefined
      throw err
    }
    const w = current // restart() may have replaced it
    current = undefined
    const tasks = count(value)
    if (!w) return value
    const result = await w.stop()
    if (!(tasks > 0)) return value
    const work = result.measure(tasks, [orchestratorDb])
    recordWork(task, name, work)
    console.log(`[work] ${name}: ${workLine(work)}`)
    seen?.(work)
    return value
  }
  return {
    get databases() {
      return databases()
    },
    async measure(task, name, body) {
      let work: WorkMeasurement | undefined
      await around(task, name, body, (n) => n, (w) => (work = w))
      return work
    },
    around: (task, name, body, count) => around(task, name, body, count),
    async restart() {
      if (!current) return
      const m = await open()
      if (!('missing' in m)) current = await m.start({ vacuum: windows > 1 })
    },
    async measureEach(task, body) {
      const w = await window(task)
      const systems = await body()
      const out: Record<string, WorkMeasurement> = {}
      if (!w) return out
      const result = await w.stop()
      for (const [name, s] of Object.entries(systems)) {
        if (!(s.tasks > 0)) continue
        const work = result.measure(s.tasks, s.databases ?? [orchestratorDb], s.cpu)
        recordWork(task, name, work)
        console.log(`[work] ${name}: ${workLine(work)}`)
        out[name] = work
      }
      return out
    },
  }
}
