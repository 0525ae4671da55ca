/**
 * The order bench files run in (the unit tests keep Vitest's own, slowest-first order): alphabetical, so two runs measure in the same order, except that
 * the load bench goes last — it fills the orchestrator's database with thousands of tasks and may
 * leave a backlog, which the other files should not measure on top of.
 */
import path from 'node:path'
import { BaseSequencer, type TestSpecification } from 'vitest/node'

const LAST = new Set(['load.bench.ts'])

export default class BenchSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    if (!files.every((f) => f.project.name.startsWith('benchmarks'))) return super.sort(files)
    const key = (f: TestSpecification) => `${LAST.has(path.basename(f.moduleId)) ? 1 : 0}:${f.moduleId}`
    return [...files].sort((a, b) => key(a).localeCompare(key(b)))
  }
}
