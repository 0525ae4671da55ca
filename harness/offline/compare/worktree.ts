/**
 * Checkouts of other commits for the interleaved A/B run: `git worktree add --detach` into a
 * temporary directory, node_modules linked package by package from the repository when
 * package-lock.json is the same (the installed tree would be identical, and linking takes no
 * time), else installed with npm ci.
 * Removed again with `git worktree remove --force`, falling back to deleting the directory and
 * `git worktree prune`.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import path from 'node:path'

export interface Worktree {
  dir: string
  /** the ref as given, e.g. origin/main */
  ref: string
  /** the full commit sha it is checked out at */
  commit: string
}

const GIT_TIMEOUT_MS = 120_000
const NPM_CI_TIMEOUT_MS = 20 * 60_000

function git(repo: string, ...args: string[]): string {
  try {
    return execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8', timeout: GIT_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe'] }).trim()
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim()
    throw new Error(`git ${args.join(' ')} failed in ${repo}: ${stderr || (err as Error).message}`)
  }
}

export function repositoryRoot(dir: string): string {
  return git(dir, 'rev-parse', '--show-toplevel')
}

/** The commit a ref names; a clear error for a typo or an unfetched branch. */
export function resolveCommit(repo: string, ref: string): string {
  try {
    return git(repo, 'rev-parse', '--verify', '--quiet', `${ref}^{commit}`)
  } catch {
    throw new Error(`"${ref}" is not a commit in ${repo} (a branch, tag or sha; in CI fetch it first, e.g. actions/checkout with fetch-depth: 0)`)
  }
}

export function addWorktree(repo: string, ref: string, dir: string): Worktree {
  const commit = resolveCommit(repo, ref)
  git(repo, 'worktree', 'add', '--detach', dir, commit)
  return { dir, ref, commit }
}

/** `linked` when node_modules could be shared with `repo`, else `installed` (npm ci, output to `logFile`). */
export function provideNodeModules(worktree: Worktree, repo: string, logFile: string): 'linked' | 'installed' {
  const ownLock = path.join(worktree.dir, 'package-lock.json')
  const repoLock = path.join(repo, 'package-lock.json')
  const repoModules = path.join(repo, 'node_modules')
  const target = path.join(worktree.dir, 'node_modules')
  if (existsSync(ownLock) && existsSync(repoLock) && existsSync(repoModules) && readFileSync(ownLock).equals(readFileSync(repoLock))) {
    linkNodeModules(repoModules, target)
    return 'linked'
  }
  const out = openSync(logFile, 'a')
  try {
    const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: worktree.dir, stdio: ['ignore', out, out], timeout: NPM_CI_TIMEOUT_MS })
    if (result.error || result.status !== 0) {
      throw new Error(`npm ci failed in the worktree of ${worktree.ref} (${result.error?.message ?? `exit code ${result.status}`}); see ${logFile}`)
    }
  } finally {
    closeSync(out)
  }
  return 'installed'
}

/**
 * A real node_modules directory whose entries link to the repository's packages: Node resolves
 * each package (and its dependencies) from the real path, git ignores the directory as
 * `node_modules/` (a single symlink would count as an untracked file and mark the commit "-dirty"
 * in the results), and Vite's cache (.vite) stays per worktree.
 */
function linkNodeModules(from: string, to: string): void {
  mkdirSync(to)
  for (const entry of readdirSync(from)) {
    if (entry === '.vite' || entry === '.cache') continue
    symlinkSync(path.join(from, entry), path.join(to, entry))
  }
}

export function removeWorktree(repo: string, worktree: Worktree): void {
  // fs.rm removes links, never what they point to: the repository's packages stay untouched
  rmSync(path.join(worktree.dir, 'node_modules'), { recursive: true, force: true })
  try {
    git(repo, 'worktree', 'remove', '--force', worktree.dir)
  } catch {
    rmSync(worktree.dir, { recursive: true, force: true })
    try {
      git(repo, 'worktree', 'prune')
    } catch {
      // the directory is gone; a stale entry is harmless and pruned by git later
    }
  }
}
