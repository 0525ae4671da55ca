/**
 * What the SQL bench holds for the whole file: the dataset database, the measuring connection
 * (every sample runs on it), a second one for EXPLAIN (auto_explain stays loaded in its session),
 * the seeding pool and the dataset's growth from one scale to the next (writable databases only),
 * and the findings gathered along the way.
 */
import type pg from 'pg'
import { openBenchDatabase, type BenchDatabase } from '../database/bench-database.ts'
import { countSeededTasks } from '../dataset/seed-dataset.ts'
import { datasetGrowth, type DatasetGrowth } from '../dataset/scales.ts'
import { pgLimits } from '../../db/limits.ts'
import { connectPg, openPool } from '../../db/connect.ts'
import type { RunInfo } from '../../results/run-info.ts'
import { FindingsLog } from './findings.ts'
import { ScalingPoints } from './scale-findings.ts'
import { PGMQ_CALLS, stepMessage, taskerCalls, type TaskerCalls } from './statements.ts'

/** The dataset's seed: the same tasks in every database seeded alike. */
export const SQL_SEED = '42'

export class SqlBench {
  dataset!: BenchDatabase
  client!: pg.Client
  explainClient!: pg.Client
  calls!: TaskerCalls
  growth?: DatasetGrowth
  private seedPool?: pg.Pool
  readonly findings: FindingsLog
  readonly points = new ScalingPoints()
  /** the dominant plan node of each function at the scale before, to see it change */
  readonly planShapes = new Map<string, { scale: string; shape: string }>()
  readonly log: (line: string) => void
  readonly run: RunInfo
  /** pgmq's own queue in the dataset database (writable databases only) */
  readonly queue: string

  constructor(run: RunInfo, queue: string) {
    this.run = run
    this.queue = queue
    this.log = (line) => console.log(`[sql-functions] ${line}`)
    this.findings = new FindingsLog(run, 'sql-functions')
  }

  async open(): Promise<void> {
    const { run, log } = this
    const opened = await openBenchDatabase(run, { purpose: 'sql', readOnly: true, log })
    if ('skip' in opened) throw new Error(opened.skip)
    this.dataset = opened
    log(`dataset database: ${opened.reason}`)
    this.calls = taskerCalls(opened.functions, opened.name)
    this.client = await connectPg(opened.url, 'sql-functions')
    this.explainClient = await connectPg(opened.url, 'sql-functions explain')
    if (opened.writable) {
      // Seeding 100K tasks legitimately runs long: its own, larger limit (BENCH_SETUP_STATEMENT_TIMEOUT_MS).
      this.seedPool = openPool(opened.url, 'dataset seeder', pgLimits(run.settings, 'setup'), { max: 2 })
      const seeded = await countSeededTasks(this.client, SQL_SEED)
      this.growth = datasetGrowth(this.seedPool, SQL_SEED, seeded, log, { anchor: new Date(run.environment.timestamp), live: true })
      await this.client.query(PGMQ_CALLS.create, [this.queue])
    } else if (run.settings.BENCH_SQL_SCALES) {
      log(`BENCH_SQL_SCALES=${run.settings.BENCH_SQL_SCALES.join(',')} ignored: nothing is seeded into a read-only database`)
    }
  }

  async close(): Promise<void> {
    await this.client?.end().catch(() => {})
    await this.explainClient?.end().catch(() => {})
    await this.seedPool?.end().catch(() => {})
    await this.dataset?.close()
  }

  /** Fills the (purged) queue with n step messages; their ids, oldest first. */
  async fillQueue(n: number): Promise<string[]> {
    await this.client.query(PGMQ_CALLS.purge, [this.queue])
    const ids: string[] = []
    for (let done = 0; done < n; done += 500) {
      const batch = Array.from({ length: Math.min(500, n - done) }, () => JSON.stringify(stepMessage()))
      const { rows } = await this.client.query<{ msg_id: string }>(PGMQ_CALLS.sendBatch, [this.queue, batch])
      ids.push(...rows.map((r) => r.msg_id))
    }
    return ids
  }
}
