import { defineConfig } from 'vitest/config'
import BenchSequencer from './harness/main/bench-sequencer.ts'
import { BENCH_RETRY } from './harness/results/budgets/rerun.ts'

/**
 * Two projects: `unit` runs the suite's own tests (npm test), `benchmarks` runs the bench files
 * (npx vitest bench). Only the benchmarks project starts PostgreSQL and the orchestrator, once
 * per run, in its global setup; its setup file checks every recorded result against the budgets.
 */
export default defineConfig({
  test: {
    // The results reporter writes results/bench-<timestamp>.json and results/latest.json.
    reporters: ['default', './harness/main/reporters/results-json.ts'],
    // Bench files in a fixed order, the load bench last (the unit tests keep Vitest's order).
    sequence: { sequencer: BenchSequencer },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          benchmark: { include: [] },
          testTimeout: 60_000,
          hookTimeout: 120_000,
          pool: 'forks',
        },
      },
      {
        extends: true,
        test: {
          name: 'benchmarks',
          include: [],
          benchmark: { include: ['benchmarks/**/*.bench.ts'], retainSamples: true },
          globalSetup: ['./harness/main/global-setup.ts'],
          setupFiles: ['./harness/bench/bench-hooks.ts', './harness/bench/pg-defaults.ts'],
          testTimeout: 600_000,
          hookTimeout: 300_000,
          pool: 'forks',
          // Bench files run one after another: concurrent files would measure each other.
          fileParallelism: false,
          // A violated time budget is measured once more before it fails the run (bench hooks).
          retry: BENCH_RETRY,
        },
      },
    ],
  },
})
