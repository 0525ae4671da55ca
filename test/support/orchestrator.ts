/**
 * The reference orchestrator for integration tests: a throwaway PostgreSQL (usePostgres) plus the
 * embedded orchestrator (orchestration + workers as child processes) with short timeouts, started
 * in beforeAll and stopped in afterAll. Helpers create tasks over HTTP and wait for them in the
 * database with generous deadlines.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, expect } from 'vitest'
import { startEmbeddedOrchestrator, type EmbeddedOrchestrator } from '../../harness/main/orchestrator/embedded.ts'
import type { TaskRequest } from '../../harness/tasker/api-client.ts'
import { usePostgres, type TestPostgres } from './postgres.ts'

export interface TestOrchestrator {
  db: TestPostgres
  orchestrator: EmbeddedOrchestrator
  url: string
}

/** Short enough that takeover tests are quick, long enough for a busy 2-core machine. */
export const TEST_ENV: Record<string, string> = {
  TASKER_VISIBILITY_TIMEOUT_S: '2',
  TASKER_POLL_INTERVAL_MS: '250',
  TASKER_STALE_ENQUEUED_S: '5',
}

export interface UseOrchestratorOptions {
  workers?: number
  /** orchestration instances (default 1) */
  orchestrators?: number
  env?: Record<string, string>
  /** OTLP endpoint, read in beforeAll (so a receiver started in an earlier beforeAll can supply it) */
  otlpEndpoint?: () => string
  /** extra PostgreSQL server settings (see usePostgres) */
  postgresSettings?: () => Record<string, string>
}

export function useOrchestrator(options: UseOrchestratorOptions = {}): TestOrchestrator {
  const db = usePostgres(undefined, { settings: options.postgresSettings })
  const handle = { db } as TestOrchestrator
  beforeAll(async () => {
    const logDir = mkdtempSync(path.join(os.tmpdir(), 'tasker-orchestrator-test-'))
    handle.orchestrator = await startEmbeddedOrchestrator({
      databaseUrl: db.server.url,
      workers: options.workers ?? 2,
      orchestrators: options.orchestrators,
      logDir,
      env: { ...TEST_ENV, ...options.env },
      otlpEndpoint: options.otlpEndpoint?.(),
    })
    Object.defineProperty(handle, 'url', { get: () => handle.orchestrator.url, configurable: true })
  }, 120_000)
  afterAll(async () => {
    await handle.orchestrator?.stop()
    // Logs matter while the tests run (errorLines); set TASKER_KEEP_TEST_LOGS=1 to keep them.
    if (handle.orchestrator && !process.env.TASKER_KEEP_TEST_LOGS) rmSync(handle.orchestrator.logDir, { recursive: true, force: true })
  }, 60_000)
  return handle
}

const TEMPLATES: Record<string, [string, string]> = {
  linear: ['linear_workflow', 'mathematical_sequence'],
  diamond: ['diamond_workflow', 'diamond_pattern'],
  tree: ['tree_workflow', 'hierarchical_tree'],
  mixed: ['mixed_dag_workflow', 'complex_dag'],
}

let unique = 0

/** A valid request for one of the four templates with a context unique to this call. */
export function taskBody(template: keyof typeof TEMPLATES, context: Record<string, unknown> = {}): TaskRequest {
  const [namespace, name] = TEMPLATES[template]!
  return {
    name,
    namespace,
    version: '1.0.0',
    context: { even_number: 6, _test_run_id: `${process.pid}-${Date.now()}-${unique++}`, ...context },
    initiator: 'test',
    source_system: 'vitest',
    reason: 'integration test',
  }
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined }
}

export async function getJson(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url)
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined }
}

/** Creates a task and returns its uuid; fails the test on anything but 201. */
export async function createTask(baseUrl: string, body: TaskRequest): Promise<string> {
  const res = await postJson(`${baseUrl}/v1/tasks`, body)
  if (res.status !== 201) throw new Error(`POST /v1/tasks → ${res.status} ${JSON.stringify(res.body)}`)
  return res.body.task_uuid as string
}

/**
 * Polls the database until every task is in one of `states` (task state), or throws after
 * `timeoutMs` listing the ones that are not, with their state.
 */
export async function waitForTasks(db: TestPostgres, taskUuids: string[], states: string[] = ['complete'], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let pending: { task_uuid: string; state: string }[] = []
  while (Date.now() < deadline) {
    const { rows } = await db.pool.query<{ task_uuid: string; state: string }>(
      `SELECT t.task_uuid, coalesce(tt.to_state, 'pending') AS state
       FROM tasker.tasks t LEFT JOIN tasker.task_transitions tt ON tt.task_uuid = t.task_uuid AND tt.most_recent
       WHERE t.task_uuid = ANY ($1::uuid[])`,
      [taskUuids],
    )
    pending = rows.filter((r) => !states.includes(r.state))
    if (rows.length === taskUuids.length && pending.length === 0) return
    await new Promise((r) => setTimeout(r, 100))
  }
  const first = pending[0]
  const steps = first
    ? (
        await db.pool.query<{ name: string; state: string; metadata: unknown }>(
          `SELECT ns.name, tr.to_state AS state, tr.metadata FROM tasker.workflow_steps ws
           JOIN tasker.named_steps ns USING (named_step_uuid)
           LEFT JOIN tasker.workflow_step_transitions tr ON tr.workflow_step_uuid = ws.workflow_step_uuid AND tr.most_recent
           WHERE ws.task_uuid = $1 ORDER BY ws.workflow_step_uuid`,
          [first.task_uuid],
        )
      ).rows
    : []
  throw new Error(
    `${pending.length} of ${taskUuids.length} task(s) not in ${states.join('|')} after ${timeoutMs} ms: ${JSON.stringify(pending.slice(0, 5))}; ` +
      `steps of the first: ${JSON.stringify(steps)}`,
  )
}

/** Polls until `query` returns a row, or throws after timeoutMs. */
export async function waitForRow<T extends Record<string, unknown>>(db: TestPostgres, query: string, params: unknown[], timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const { rows } = await db.pool.query<T>(query, params)
    if (rows[0]) return rows[0]
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`no row after ${timeoutMs} ms for: ${query.trim().split('\n')[0]}`)
}

/**
 * Creates a linear task whose second step sleeps `sleepMs`, waits until a worker has claimed that
 * step and SIGKILLs that worker mid-step. Returns the task, the step and the killed worker's id.
 */
export async function killWorkerMidStep(o: TestOrchestrator, sleepMs = 3000): Promise<{ taskUuid: string; stepUuid: string; workerId: string }> {
  const taskUuid = await createTask(o.url, taskBody('linear', { bench_sleep_ms: { linear_step_2: sleepMs } }))
  const claim = await waitForRow<{ worker_id: string; step_uuid: string }>(
    o.db,
    `SELECT tr.metadata->>'worker_id' AS worker_id, ws.workflow_step_uuid::text AS step_uuid
     FROM tasker.workflow_step_transitions tr
     JOIN tasker.workflow_steps ws USING (workflow_step_uuid) JOIN tasker.named_steps ns USING (named_step_uuid)
     WHERE ws.task_uuid = $1 AND ns.name = 'linear_step_2' AND tr.to_state = 'in_progress' AND tr.most_recent`,
    [taskUuid],
  )
  const victim = o.orchestrator.workers.findIndex((w) => w.id === claim.worker_id)
  expect(victim, `the claiming worker ${claim.worker_id} is one of ours`).toBeGreaterThanOrEqual(0)
  await o.orchestrator.killWorker(victim, 'SIGKILL')
  return { taskUuid, stepUuid: claim.step_uuid, workerId: claim.worker_id }
}

/** Per step of the given tasks, how often it reached complete, was submitted (enqueued_for_orchestration) and was claimed (in_progress). */
export async function stepTransitionCounts(db: TestPostgres, taskUuids: string[]): Promise<{ step_uuid: string; completes: number; submits: number; claims: number }[]> {
  const { rows } = await db.pool.query<{ step_uuid: string; completes: number; submits: number; claims: number }>(
    `SELECT ws.workflow_step_uuid::text AS step_uuid,
            count(*) FILTER (WHERE tr.to_state = 'complete')::int AS completes,
            count(*) FILTER (WHERE tr.to_state = 'enqueued_for_orchestration')::int AS submits,
            count(*) FILTER (WHERE tr.to_state = 'in_progress')::int AS claims
     FROM tasker.workflow_steps ws JOIN tasker.workflow_step_transitions tr USING (workflow_step_uuid)
     WHERE ws.task_uuid = ANY ($1::uuid[])
     GROUP BY ws.workflow_step_uuid`,
    [taskUuids],
  )
  return rows
}

/** Step results of a task by step name. */
export async function stepResults(db: TestPostgres, taskUuid: string): Promise<Record<string, { result: number }>> {
  const { rows } = await db.pool.query<{ name: string; results: { result: number } }>(
    `SELECT ns.name, ws.results FROM tasker.workflow_steps ws JOIN tasker.named_steps ns USING (named_step_uuid) WHERE ws.task_uuid = $1`,
    [taskUuid],
  )
  return Object.fromEntries(rows.map((r) => [r.name, r.results]))
}

/** Lines with ERROR in the orchestrator's log files. */
export function errorLines(logDir: string): string[] {
  return readdirSync(logDir)
    .filter((f) => f.endsWith('.log'))
    .flatMap((f) =>
      readFileSync(path.join(logDir, f), 'utf8')
        .split('\n')
        .filter((l) => / ERROR /.test(l) || /\bError:|Uncaught|TypeError|ReferenceError/.test(l))
        .map((l) => `${f}: ${l}`),
    )
}
