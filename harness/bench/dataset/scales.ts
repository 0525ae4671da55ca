/**
 * The SQL bench's dataset at growing scales: grows the seeded dataset from one scale to the next
 * (tasks `seeded .. scale - 1`, so earlier scales' tasks are kept) and captures the query plans
 * of the measured calls at each scale.
 */
import path from 'node:path'
import type pg from 'pg'
import { capturePlans, type CapturedPlan, type PlanTarget } from '../database/explain.ts'
import { formatProgress, seedDataset } from './seed-dataset.ts'

/** 200 → "200", 1000 → "1K", 2500 → "2.5K", 100000 → "100K", 1000000 → "1M". */
export function scaleLabel(n: number): string {
  if (n >= 1_000_000 && n % 100_000 === 0) return `${n / 1_000_000}M`
  if (n >= 1_000 && n % 100 === 0) return `${n / 1_000}K`
  return String(n)
}

export interface DatasetGrowth {
  /** Seeds up to `scale` tasks; the reason the scale cannot be measured, if it cannot. */
  growTo(scale: number): Promise<string | undefined>
}

/**
 * `seeded`: tasks of `seed` the database already holds (countSeededTasks). `layout`: the anchor
 * and layout of every growth (SeedOptions; the SQL bench: the run's start, live layout).
 */
export function datasetGrowth(pool: pg.Pool, seed: string, seeded: number, log: (line: string) => void, layout: { anchor?: Date; live?: boolean } = {}): DatasetGrowth {
  return {
    async growTo(scale) {
      if (seeded > scale) return `the database already holds ${seeded} tasks of seed ${seed}, more than ${scale}`
      if (seeded === scale) return undefined
      log(`dataset @${scaleLabel(scale)}: seeding tasks ${seeded.toLocaleString('en-US')}..${(scale - 1).toLocaleString('en-US')}`)
      const r = await seedDataset(pool, { seed, from: seeded, count: scale - seeded, ...layout, onProgress: (p) => log(formatProgress(p)) })
      seeded = scale
      log(
        `dataset @${scaleLabel(scale)}: +${r.tasks.toLocaleString('en-US')} tasks, ${r.steps.toLocaleString('en-US')} steps, ` +
          `${(r.taskTransitions + r.stepTransitions).toLocaleString('en-US')} transitions in ${(r.ms / 1000).toFixed(1)} s ` +
          `(ANALYZE ${(r.analyzeMs / 1000).toFixed(1)} s${r.foreignKeyChecks ? '' : ', foreign-key triggers skipped'})`,
      )
      return undefined
    },
  }
}

/**
 * Plans of `targets` into <resultsDir>/plans/<label>/, keyed by file name (the function's name);
 * plan warnings (sequential scans of big tables, …) are printed.
 */
export async function captureScalePlans(
  client: pg.Client,
  targets: PlanTarget[],
  where: { resultsDir: string; label: string },
  log: (line: string) => void,
): Promise<Map<string, CapturedPlan>> {
  const dir = path.join(where.resultsDir, 'plans', where.label)
  const captured = await capturePlans(client, targets, { dir, scale: where.label })
  for (const p of captured) {
    for (const w of p.warnings) console.warn(`[sql-functions] plan warning: ${w}`)
    if (p.nestedUnavailable) log(`${p.name}: ${p.nestedUnavailable}`)
  }
  log(`plans @${where.label}: ${dir} (${captured.reduce((a, p) => a + p.warnings.length, 0)} warning(s))`)
  return new Map(captured.map((p) => [p.file.replace(/^.*[\\/]|\.json$/g, ''), p]))
}
