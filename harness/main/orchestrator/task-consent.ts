/**
 * An external orchestrator is someone's deployment: a task the suite creates through its API runs
 * on its workers and stays in its database. So the benches create tasks there only with one
 * explicit consent, BENCH_CREATE_TASKS=true, as scratch databases on a DATABASE_URL's server need
 * BENCH_SEED=true. These lines say what the run would create, where, and how to allow it.
 */
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { parse } from 'yaml'
import { profileValue, sampleCount } from '../../config/profile.ts'
import type { Settings } from '../../config/settings.ts'
import { redactCredentials } from '../../config/credentials.ts'

type CountSettings = Pick<Settings, 'BENCH_PROFILE' | 'BENCH_E2E_SAMPLES' | 'BENCH_LOAD_RATES' | 'BENCH_LOAD_SECONDS' | 'BENCH_SCALING' | 'BENCH_SCALING_RATE'>

/**
 * Roughly how many tasks each bench creates through the orchestrator, warm-ups included. Kept in
 * step with the bench files by hand: an estimate for a message, not a count anything relies on.
 */
export function tasksPerBench(settings: CountSettings): Record<string, number> {
  const run = { profile: settings.BENCH_PROFILE }
  const samples = profileValue(settings, 'BENCH_E2E_SAMPLES')
  const warmup = sampleCount(run, 10)
  const rates = profileValue(settings, 'BENCH_LOAD_RATES')
  return {
    'task-initialization': 2 * (sampleCount(run, 500) + sampleCount(run, 20)), // linear, diamond
    'step-enqueueing': 3 * (sampleCount(run, 100) + sampleCount(run, 5)), // 3, 10, 50 root steps
    // four shapes and linear polled, one task a sample; 10 concurrent tasks a sample
    'e2e-latency': 5 * (samples + warmup) + 10 * (Math.max(5, Math.ceil(samples / 10)) + warmup),
    baselines: 4 * (samples + warmup), // the E2E task of each interleaved iteration
    load: rates.reduce((a, b) => a + b, 0) * profileValue(settings, 'BENCH_LOAD_SECONDS'),
    // opt-in; against a deployment it measures the one topology there: the throughput ceiling's
    // tasks, then the fixed rate for 10 s (full) or 2 s
    ...(settings.BENCH_SCALING ? { scaling: sampleCount(run, 300) + settings.BENCH_SCALING_RATE * (run.profile === 'full' ? 10 : 2) } : {}),
  }
}

/** The namespaces of the templates the benches create tasks from (what the deployment will see). */
export function templateNamespaces(templatesDir: string): string[] {
  let files: string[]
  try {
    files = readdirSync(templatesDir).filter((f) => /\.ya?ml$/.test(f))
  } catch {
    return []
  }
  const names = files.map((f) => {
    try {
      return (parse(readFileSync(path.join(templatesDir, f), 'utf8')) as { namespace_name?: unknown } | null)?.namespace_name
    } catch {
      return undefined
    }
  })
  return [...new Set(names.filter((n): n is string => typeof n === 'string'))].sort()
}

const count = (n: number) => n.toLocaleString('en-US')

/** What the benches would create, and where: `about 7,295 tasks (namespaces …; templates in …) through its API`. */
function whatAndWhere(settings: CountSettings, templatesDir: string, root: string): string {
  const total = Object.values(tasksPerBench(settings)).reduce((a, b) => a + b, 0)
  const namespaces = templateNamespaces(templatesDir)
  const dir = path.relative(root, templatesDir) || templatesDir
  return `about ${count(total)} tasks (${namespaces.length > 0 ? `namespaces ${namespaces.join(', ')}; ` : ''}templates in ${dir}) through its API (POST /v1/tasks); they run on its workers and stay in its database`
}

/** Why a bench that creates tasks skips: printed by each of them as `[<bench>] skipped: …`. */
export function tasksRefused(settings: CountSettings & { root: string }, url: string, templatesDir: string): string {
  return `creates no tasks in the deployment at ${redactCredentials(url)} (set BENCH_CREATE_TASKS=true to let the run create ${whatAndWhere(settings, templatesDir, settings.root)})`
}

/** The run's one line about tasks in an external orchestrator, with or without consent. */
export function taskConsentLine(settings: CountSettings & { root: string; BENCH_CREATE_TASKS: boolean }, url: string, templatesDir: string): string {
  const perBench = Object.entries(tasksPerBench(settings)).map(([bench, n]) => `${bench} ~${count(n)}`).join(', ')
  if (settings.BENCH_CREATE_TASKS) return `tasks: BENCH_CREATE_TASKS=true: the benches create ${whatAndWhere(settings, templatesDir, settings.root)} at ${redactCredentials(url)} (${perBench})`
  return `tasks: none in the deployment at ${redactCredentials(url)}: BENCH_CREATE_TASKS is not set, so the benches that create tasks (${perBench}) skip; the SQL and NOTIFY benches run as usual`
}
