/**
 * External mode: the orchestrator is a deployment at a URL; check that it answers GET /health.
 * Credentials in the URL become a Basic authorization header and never appear in a message.
 */
import { redactUrl } from '../../config/settings.ts'
import { httpTarget, redactCredentials } from '../../config/credentials.ts'

const TIMEOUT_MS = 10_000

export async function checkOrchestrator(rawUrl: string): Promise<void> {
  // as the user wrote it, password hidden
  const url = redactCredentials(rawUrl)
  const target = httpTarget(new URL('/health', rawUrl).toString())
  const healthUrl = redactUrl(new URL('/health', rawUrl).toString())
  const advice = 'check TASKER_ORCHESTRATION_URL (http://host:8080 of the orchestration service) and that the service is running, or unset it to measure the embedded reference orchestrator'
  let res: Response
  try {
    res = await fetch(target.url, { headers: target.headers, signal: AbortSignal.timeout(TIMEOUT_MS) })
  } catch (err) {
    const cause = (err as Error).name === 'TimeoutError' ? `no answer within ${TIMEOUT_MS / 1000} s` : ((err as Error & { cause?: Error }).cause?.message ?? (err as Error).message)
    throw new Error(`the orchestrator at ${url} is not reachable: GET ${healthUrl} failed (${redactCredentials(cause)}); ${advice}`)
  }
  const text = await res.text().catch(() => '')
  if (res.status !== 200) {
    throw new Error(`the orchestrator at ${url} is not healthy: GET ${healthUrl} returned HTTP ${res.status} ${text.slice(0, 200)}; ${advice}`)
  }
  let body: { status?: unknown } | undefined
  try {
    body = JSON.parse(text) as { status?: unknown }
  } catch {
    body = undefined
  }
  if (body?.status !== 'healthy') {
    throw new Error(`the orchestrator at ${url} answered GET ${healthUrl} with ${text.slice(0, 200)} instead of {"status":"healthy",…}; ${advice}`)
  }
}
