/**
 * What a result was measured on (the fingerprint every results file carries), as types: the
 * main process collects it (harness/main/environment.ts), analysis reads it from results files.
 */
import type { Settings } from '../config/settings.ts'

export type Profile = Settings['BENCH_PROFILE']

/** Where PostgreSQL came from (BENCH_POSTGRES once `auto` is resolved). */
export type PostgresMode = 'embedded' | 'container' | 'external'

/** The parts the global setup knows once it has started (or found) each piece. */
export interface EnvironmentExtra {
  /** defaults to BENCH_PROFILE */
  profile?: Profile
  postgres?: { mode: PostgresMode; version: string; reason: string }
  /** kind: e.g. "extension" or "sql-compat" (the project's pgmq-compatible SQL) */
  pgmq?: { kind: string; version: string }
  /** the Tasker functions measured: "schema.name" → md5 of the definition (same hash, same code) */
  functions?: Record<string, string>
  orchestrator?: { mode: string; reason: string; workers?: number }
  /** trace collection mode, e.g. "embedded" or "off" */
  traces?: string
}

export interface EnvironmentFingerprint extends EnvironmentExtra {
  node: string
  platform: NodeJS.Platform
  arch: string
  cpuModel: string
  cpuCount: number
  memoryGiB: number
  /** HEAD commit, with "-dirty" when the working tree has changes; "unknown" without git */
  commit: string
  profile: Profile
  /** ISO 8601, when the fingerprint was taken (the start of the run) */
  timestamp: string
}
