/**
 * GET a JSON document from a trace backend, with a timeout and an error that names the URL (its
 * password redacted; credentials go in an authorization header) and status.
 */
import { httpTarget, redactCredentials } from '../../config/credentials.ts'

export async function getJson(rawUrl: string, timeoutMs: number, headers: Record<string, string> = {}): Promise<unknown> {
  const target = httpTarget(rawUrl)
  const url = redactCredentials(rawUrl)
  const res = await fetch(target.url, { headers: { accept: 'application/json', ...target.headers, ...headers }, signal: AbortSignal.timeout(timeoutMs) })
  const text = await res.text()
  if (!res.ok) throw new TraceBackendError(`GET ${url} → ${res.status}: ${text.slice(0, 300)}`, res.status)
  try {
    return JSON.parse(text)
  } catch {
    throw new TraceBackendError(`GET ${url} answered with something that is not JSON: ${text.slice(0, 200)}`, res.status)
  }
}

export class TraceBackendError extends Error {
  override name = 'TraceBackendError'
  readonly status: number
  constructor(message: string, status: number) {
    super(message)
    this.status = status
  }
}
