/**
 * One scale of the SQL bench: the data as it is at that scale — its size, a seeded sample of
 * tasks to cycle through, the query plans — and the fields every result measured at it carries.
 */
import path from 'node:path'
import { captureScalePlans } from '../dataset/scales.ts'
import { sampleDataset, type DatasetSample } from '../dataset/sample.ts'
import { countTaskerRows } from '../../db/scratch-database.ts'
import { qualifiedName, type TaskerFunctionName } from '../../db/tasker-functions.ts'
import type { CapturedPlan, PlanTarget } from '../database/explain.ts'
import { annotateResult } from '../record.ts'
import { batchesOf } from './calls.ts'
import { recordScaleFindings } from './scale-findings.ts'
import { SQL_SEED, type SqlBench } from './sql-bench.ts'

const SAMPLE_TASKS = 200
export const BATCH_TASKS = 10

export class SqlScale {
  /** why this scale's benches are skipped, if they are */
  skip?: string
  sample!: DatasetSample
  size!: { tasks: number; steps: number }
  plans = new Map<string, CapturedPlan>()
  /** annotation fields every result of this scale carries */
  private annotations: Record<string, unknown> = {}

  private readonly sql: SqlBench
  readonly label: string

  constructor(sql: SqlBench, label: string) {
    this.sql = sql
    this.label = label
  }

  /** The sampled tasks' ids, and their windows of BATCH_TASKS. */
  taskUuids(): string[] {
    return this.sample.tasks.map((t) => t.taskUuid)
  }
  batches(): string[][] {
    return batchesOf(this.sample, BATCH_TASKS)
  }
  leafSteps(): string[] {
    return this.sample.tasks.flatMap((t) => (t.leafStepUuid ? [t.leafStepUuid] : []))
  }

  /** Grows the data to this scale (if it grows), then takes its sample, size and plans. */
  async prepare(grow: (() => Promise<string | undefined>) | undefined): Promise<void> {
    this.skip = await grow?.()
    if (!this.skip) await this.measureData()
    if (this.skip) this.sql.log(`@${this.label} skipped: ${this.skip}`)
  }

  private async measureData(): Promise<void> {
    const { client, explainClient, dataset, calls, run, log } = this.sql
    this.size = await countTaskerRows(client)
    this.sample = await sampleDataset(client, { seed: SQL_SEED, size: SAMPLE_TASKS })
    if (this.sample.tasks.length === 0) {
      this.skip = `no tasks in ${dataset.name}`
      return
    }
    const probe = this.sample.tasks.find((t) => t.state !== 'complete') ?? this.sample.tasks[0]!
    const leaf = this.leafSteps()[0]
    const targets: PlanTarget[] = [
      { name: 'get_next_ready_tasks(10)', file: 'get_next_ready_tasks', sql: calls.nextReady, values: [10] },
      { name: 'get_step_readiness_status', file: 'get_step_readiness_status', sql: calls.readiness, values: [probe.taskUuid] },
      { name: `get_step_readiness_status_batch(${BATCH_TASKS} tasks)`, file: 'get_step_readiness_status_batch', sql: calls.readinessBatch, values: [this.batches()[0]] },
      { name: 'get_task_execution_context', file: 'get_task_execution_context', sql: calls.context, values: [probe.taskUuid] },
      ...(leaf ? [{ name: 'get_step_transitive_dependencies(leaf step)', file: 'get_step_transitive_dependencies', sql: calls.ancestors, values: [leaf] }] : []),
    ]
    this.plans = await captureScalePlans(explainClient, targets, { resultsDir: run.resultsDir, label: this.label }, log)
    const nextReady = qualifiedName(dataset.functions, 'get_next_ready_tasks', dataset.name)
    await recordScaleFindings(this.sql.findings, { client, nextReady, writable: dataset.writable, plans: this.plans, label: this.label, tasks: this.size.tasks, planShapes: this.sql.planShapes })
    this.annotations = {
      scale: this.label,
      datasetDatabase: dataset.mode,
      datasetSeed: dataset.mode === 'read-only' ? undefined : SQL_SEED,
      datasetTasks: this.size.tasks,
      datasetSteps: this.size.steps,
      sampledTasks: this.sample.tasks.length,
    }
    log(
      `@${this.label}: ${this.size.tasks.toLocaleString('en-US')} tasks, ${this.size.steps.toLocaleString('en-US')} steps; ` +
        `sample of ${this.sample.tasks.length} tasks over ${this.sample.strata.length} template/state strata`,
    )
  }

  /**
   * The result gets the scale's fields, the plan warnings of its function and the function's
   * fingerprint (schema and hash of its definition: same hash, same code); its p50 joins the
   * call's scaling points.
   */
  annotate(task: Parameters<typeof annotateResult>[0], result: { name: string; latency?: { p50: number } }, fn?: TaskerFunctionName): void {
    const { dataset, run, points } = this.sql
    points.add(result.name.replace(/ @[^ ]+$/, ''), this.size.tasks, result.latency?.p50)
    const plan = fn ? this.plans.get(fn) : undefined
    const measured = fn ? dataset.functions[fn] : undefined
    annotateResult(task, {
      ...this.annotations,
      ...(plan ? { plan: path.relative(run.resultsDir, plan.file), planWarnings: plan.warnings } : {}),
      ...(measured ? { function: `${measured.schema}.${fn}`, functionHash: measured.hash } : {}),
    })
  }
}
