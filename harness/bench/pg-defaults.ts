/**
 * Setup file of the `benchmarks` project: every PostgreSQL connection a bench file opens gets
 * the run's statement_timeout and lock_timeout (BENCH_STATEMENT_TIMEOUT_MS, BENCH_LOCK_TIMEOUT_MS),
 * so a lock wait fails the bench instead of hanging the run.
 */
import { inject } from 'vitest'
import { applyPgDefaults, pgLimits } from '../db/limits.ts'

applyPgDefaults(pgLimits(inject('run').settings))
