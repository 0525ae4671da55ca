/**
 * What a result was measured on. Every results file carries this fingerprint, so two runs are
 * only compared knowing whether Node, PostgreSQL, the machine or the code changed in between.
 */
import { execFileSync } from 'node:child_process'
import os from 'node:os'
import { loadSettings, type Settings } from '../config/settings.ts'
import type { PostgresMode } from './postgres/types.ts'

export type Profile = Settings['BENCH_PROFILE']

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

export interface CollectOptions {
  /** the checkout whose commit is recorded (default: the working directory) */
  root?: string
  now?: Date
}

export function collectEnvironment(extra: EnvironmentExtra = {}, options: CollectOptions = {}): EnvironmentFingerprint {
  const root = options.root ?? process.cwd()
  const cpus = os.cpus()
  return {
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    cpuModel: cpus[0]?.model.replace(/\s+/g, ' ').trim() || 'unknown',
    cpuCount: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    commit: gitCommit(root),
    timestamp: (options.now ?? new Date()).toISOString(),
    ...extra,
    profile: extra.profile ?? loadSettings({ root }).BENCH_PROFILE,
  }
}

/** `<sha>`, `<sha>-dirty` (tracked or untracked, non-ignored changes), or `unknown`. */
export function gitCommit(root: string): string {
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: root, encoding: 'utf8', timeout: 5_000, stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  let sha: string
  try {
    sha = git('rev-parse', 'HEAD')
  } catch {
    return 'unknown'
  }
  try {
    // --no-optional-locks: read-only, never takes index.lock (other processes may be committing)
    return git('--no-optional-locks', 'status', '--porcelain') === '' ? sha : `${sha}-dirty`
  } catch {
    return sha
  }
}
