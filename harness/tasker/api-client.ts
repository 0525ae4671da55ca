/**
 * A small client for the Tasker REST API over one undici keep-alive pool, so connection set-up
 * happens once, outside the samples.
 */
import { Pool } from 'undici'
import { redactUrl } from '../config/settings.ts'
import { httpTarget } from '../config/credentials.ts'

export interface TaskRequest {
  name: string
  namespace: string
  version: string
  context: Record<string, unknown>
  initiator: string
  source_system: string
  reason: string
  tags?: string[]
  priority?: number
  correlation_id?: string
}

export interface StepView {
  workflow_step_uuid: string
  name: string
  current_state: string
  attempts?: number
  [key: string]: unknown
}

export interface TaskView {
  task_uuid: string
  name: string
  namespace: string
  status: string
  execution_status: string
  correlation_id: string
  created_at: string
  completed_at: string | null
  total_steps: number
  completed_steps: number
  steps?: StepView[]
  [key: string]: unknown
}

export class TaskerApiError extends Error {
  override name = 'TaskerApiError'
  readonly status: number
  readonly code: string | undefined
  constructor(method: string, path: string, status: number, body: string) {
    let code: string | undefined
    let message = body.slice(0, 500)
    try {
      const parsed = JSON.parse(body) as { error?: { code?: string; message?: string } }
      code = parsed.error?.code
      message = parsed.error?.message ?? message
    } catch {
      /* not JSON: keep the raw text */
    }
    super(`${method} ${path} → ${status}${code ? ` ${code}` : ''}: ${message}`)
    this.status = status
    this.code = code
  }
}

export interface TaskListPage {
  tasks: TaskView[]
  pagination: { page: number; per_page: number; total_count: number; total_pages: number; [key: string]: unknown }
}

export interface TaskListQuery {
  status?: string
  namespace?: string
  page?: number
  per_page?: number
}

export interface TaskerClient {
  readonly baseUrl: string
  health(): Promise<{ status: string }>
  createTask(request: TaskRequest): Promise<TaskView>
  getTask(taskUuid: string): Promise<TaskView>
  /** GET /v1/tasks with filters and pagination (docs/contract.md; tasker-core: status, namespace, page, per_page) */
  listTasks(query: TaskListQuery): Promise<TaskListPage>
  close(): Promise<void>
}

export interface TaskerClientLimits {
  /** longest a call waits for the answer's headers, and between chunks of its body (BENCH_HTTP_TIMEOUT_MS) */
  timeoutMs?: number
  /** longest opening a connection may take (BENCH_CONNECT_TIMEOUT_MS) */
  connectTimeoutMs?: number
}

/** The limits from the run's settings. */
export function taskerClientLimits(settings: { BENCH_HTTP_TIMEOUT_MS: number; BENCH_CONNECT_TIMEOUT_MS: number }): TaskerClientLimits {
  return { timeoutMs: settings.BENCH_HTTP_TIMEOUT_MS, connectTimeoutMs: settings.BENCH_CONNECT_TIMEOUT_MS }
}

/** A call that ran out of time, naming the call, the server and the setting. */
export class TaskerApiTimeoutError extends Error {
  override name = 'TaskerApiTimeoutError'
}

const TIMEOUTS: Record<string, (limits: Required<TaskerClientLimits>) => string> = {
  UND_ERR_HEADERS_TIMEOUT: (l) => `no answer within ${l.timeoutMs} ms (BENCH_HTTP_TIMEOUT_MS)`,
  UND_ERR_BODY_TIMEOUT: (l) => `the answer's body stalled for ${l.timeoutMs} ms (BENCH_HTTP_TIMEOUT_MS)`,
  UND_ERR_CONNECT_TIMEOUT: (l) => `no connection within ${l.connectTimeoutMs} ms (BENCH_CONNECT_TIMEOUT_MS)`,
}

export function createTaskerClient(baseUrl: string, connections = 32, limits: TaskerClientLimits = {}): TaskerClient {
  const origin = new URL(baseUrl).origin
  const prefix = new URL(baseUrl).pathname.replace(/\/$/, '')
  const bounds: Required<TaskerClientLimits> = { timeoutMs: limits.timeoutMs ?? 30_000, connectTimeoutMs: limits.connectTimeoutMs ?? 10_000 }
  // user:password in the URL means Basic authorization (the pool is keyed by origin, without them)
  const auth = httpTarget(baseUrl).headers
  const pool = new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 60_000, connectTimeout: bounds.connectTimeoutMs })

  async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    let text: string
    let status: number
    try {
      const res = await pool.request({
        method,
        path: prefix + path,
        headers: body === undefined ? { ...auth, accept: 'application/json' } : { ...auth, accept: 'application/json', 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: bounds.timeoutMs,
        bodyTimeout: bounds.timeoutMs,
      })
      status = res.statusCode
      text = await res.body.text()
    } catch (err) {
      const timeout = TIMEOUTS[(err as { code?: string }).code ?? '']
      if (timeout) throw new TaskerApiTimeoutError(`${method} ${path} to the orchestrator at ${origin}: ${timeout(bounds)}`, { cause: err })
      throw err
    }
    if (status >= 400) throw new TaskerApiError(method, path, status, text)
    return JSON.parse(text) as T
  }

  return {
    baseUrl: redactUrl(baseUrl),
    health: () => call('GET', '/health'),
    createTask: (request) => call('POST', '/v1/tasks', request),
    getTask: (taskUuid) => call('GET', `/v1/tasks/${encodeURIComponent(taskUuid)}`),
    listTasks: (query) => {
      const params = new URLSearchParams()
      for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value))
      const search = params.toString()
      return call('GET', `/v1/tasks${search ? `?${search}` : ''}`)
    },
    close: () => pool.close(),
  }
}
