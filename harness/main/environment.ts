/**
 * What a result was measured on. Every results file carries this fingerprint, so two runs are
 * only compared knowing whether Node, PostgreSQL, the machine or the code changed in between.
 */
import { execFileSync } from 'node:child_process'
import os from 'node:os'
import { loadSettings } from '../config/settings.ts'
import type { EnvironmentExtra, EnvironmentFingerprint } from '../results/environment.ts'

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
