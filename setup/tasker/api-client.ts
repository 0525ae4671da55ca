/**
 * A small client for the Tasker REST API over one undici keep-alive pool, so connection set-up
 * happens once, outside the samples.
 */
import { Pool } from 'undici'
import { redactUrl } from '../config.ts'
import { httpTarget } from '../net/credentials.ts'

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

export interface TaskerClient {
  readonly baseUrl: string
  health(): Promise<{ status: string }>
  createTask(request: TaskRequest): Promise<TaskView>
  getTask(taskUuid: string): Promise<TaskView>
  close(): Promise<void>
}

export function createTaskerClient(baseUrl: string, connections = 32): TaskerClient {
  const origin = new URL(baseUrl).origin
  const prefix = new URL(baseUrl).pathname.replace(/\/$/, '')
  // user:password in the URL means Basic authorization (the pool is keyed by origin, without them)
  const auth = httpTarget(baseUrl).headers
  const pool = new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 60_000 })

  async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const res = await pool.request({
      method,
      path: prefix + path,
      headers: body === undefined ? { ...auth, accept: 'application/json' } : { ...auth, accept: 'application/json', 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    })
    const text = await res.body.text()
    if (res.statusCode >= 400) throw new TaskerApiError(method, path, res.statusCode, text)
    return JSON.parse(text) as T
  }

  return {
    baseUrl: redactUrl(baseUrl),
    health: () => call('GET', '/health'),
    createTask: (request) => call('POST', '/v1/tasks', request),
    getTask: (taskUuid) => call('GET', `/v1/tasks/${encodeURIComponent(taskUuid)}`),
    close: () => pool.close(),
  }
}
