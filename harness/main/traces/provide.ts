/**
 * Chooses where the orchestrator's spans are collected (BENCH_TRACES) and starts the embedded
 * receiver when that is the choice. Called by the global setup before the orchestrator starts, so
 * the orchestrator can be pointed at `otlpEndpoint` (see exporterEnvironment()).
 *
 *   off       no breakdown
 *   embedded  the suite's own OTLP/HTTP receiver (harness/main/traces/receiver.ts)
 *   jaeger    an existing Jaeger; BENCH_TRACES_URL is its query service (http://host:16686)
 *   tempo     an existing Tempo; BENCH_TRACES_URL is its HTTP API (http://host:3200)
 *   auto      jaeger or tempo when BENCH_TRACES_URL is set (Tempo when the URL says so: port
 *             3200 or "tempo" in it), else embedded when the orchestrator is the embedded one
 *             (only it is known to export where we say), else off
 */
import { ConfigError, redactUrl, type Settings } from '../../config/settings.ts'
import { httpTarget, redactCredentials } from '../../config/credentials.ts'
import { startTraceReceiver, type TraceReceiverOptions } from './receiver.ts'
import type { TraceMode, TraceSettings } from '../../results/traces/types.ts'

export type OrchestratorMode = 'embedded' | 'compose' | 'external' | 'off'

export interface TraceChoice {
  mode: TraceMode
  reason: string
}

type TraceVariables = Pick<Settings, 'BENCH_TRACES' | 'BENCH_TRACES_URL'>

/** The decision alone, without starting anything. */
export function chooseTraceMode(settings: TraceVariables, orchestrator: OrchestratorMode): TraceChoice {
  const requested = settings.BENCH_TRACES
  const url = settings.BENCH_TRACES_URL
  switch (requested) {
    case 'off':
      return { mode: 'off', reason: 'BENCH_TRACES=off' }
    case 'embedded':
      return {
        mode: 'embedded',
        reason:
          orchestrator === 'embedded'
            ? 'BENCH_TRACES=embedded'
            : `BENCH_TRACES=embedded; the ${orchestrator} orchestrator must be configured to export OTLP/HTTP to the receiver itself`,
      }
    case 'jaeger':
    case 'tempo':
      if (!url) throw new ConfigError(`BENCH_TRACES=${requested} needs BENCH_TRACES_URL (${requested === 'jaeger' ? 'the Jaeger query service, http://host:16686' : 'Tempo’s HTTP API, http://host:3200'})`)
      return { mode: requested, reason: `BENCH_TRACES=${requested}` }
    case 'auto':
      if (url) {
        const mode = looksLikeTempo(url) ? 'tempo' : 'jaeger'
        return { mode, reason: `BENCH_TRACES_URL is set and looks like ${mode === 'tempo' ? 'Tempo' : 'Jaeger'} (set BENCH_TRACES=${mode === 'tempo' ? 'jaeger' : 'tempo'} if it is not)` }
      }
      if (orchestrator === 'embedded' || orchestrator === 'compose') {
        return { mode: 'embedded', reason: `the ${orchestrator} orchestrator exports to the suite’s own receiver` }
      }
      if (orchestrator === 'off') return { mode: 'off', reason: 'no orchestrator under test (BENCH_ORCHESTRATOR=off)' }
      return { mode: 'off', reason: `the ${orchestrator} orchestrator’s traces are elsewhere: set BENCH_TRACES_URL to its Jaeger or Tempo for the worker-level breakdown` }
  }
}

function looksLikeTempo(raw: string): boolean {
  const u = new URL(raw)
  return u.port === '3200' || /tempo/i.test(u.host + u.pathname)
}

export interface ProvideTracesOptions {
  /** the orchestrator the global setup is about to start or use */
  orchestrator: OrchestratorMode
  receiver?: TraceReceiverOptions
  /** how long to wait for a jaeger/tempo backend to answer (default 3 s) */
  checkTimeoutMs?: number
}

/**
 * Starts what the chosen mode needs and returns the serialisable settings the bench workers get.
 * A jaeger/tempo backend that does not answer is an error when asked for by name, and turns the
 * breakdown off (with the reason) under auto.
 */
export async function provideTraces(settings: TraceVariables, log: (line: string) => void, options: ProvideTracesOptions): Promise<TraceSettings> {
  const choice = chooseTraceMode(settings, options.orchestrator)
  if (choice.mode === 'off') {
    log(`traces: off (${choice.reason})`)
    return choice
  }
  if (choice.mode === 'embedded') {
    const receiver = await startTraceReceiver({ log, ...options.receiver })
    log(`traces: embedded OTLP/HTTP receiver at ${receiver.endpoint} (${choice.reason})`)
    return { ...choice, otlpEndpoint: receiver.endpoint, queryUrl: receiver.queryUrl }
  }
  const queryUrl = settings.BENCH_TRACES_URL!.replace(/\/+$/, '')
  const problem = await checkBackend(choice.mode, queryUrl, options.checkTimeoutMs ?? 3_000)
  if (problem) {
    if (settings.BENCH_TRACES !== 'auto') throw new ConfigError(`BENCH_TRACES=${choice.mode}: ${problem}`)
    const reason = `${problem}; breakdown off`
    log(`traces: off (${reason})`)
    return { mode: 'off', reason }
  }
  log(`traces: ${choice.mode} at ${redactUrl(queryUrl)} (${choice.reason})`)
  return { ...choice, queryUrl }
}

/** One request the backend must answer: Jaeger lists its services, Tempo says it is ready. */
async function checkBackend(mode: 'jaeger' | 'tempo', baseUrl: string, timeoutMs: number): Promise<string | undefined> {
  const path = mode === 'jaeger' ? '/api/services' : '/ready'
  try {
    const target = httpTarget(baseUrl + path)
    const res = await fetch(target.url, { headers: target.headers, signal: AbortSignal.timeout(timeoutMs) })
    await res.arrayBuffer()
    if (!res.ok) return `${mode} at ${redactUrl(baseUrl)} answered GET ${path} with ${res.status}`
    return undefined
  } catch (err) {
    return `${mode} at ${redactUrl(baseUrl)} did not answer GET ${path} within ${timeoutMs} ms (${redactCredentials((err as Error).message)})`
  }
}

/**
 * Environment for an orchestrator process so its spans reach the chosen collector: the OTLP
 * endpoint, and a short batch delay so a finished task's spans arrive within a fraction of a
 * second instead of the SDK's default 5 s (the breakdown waits for them). Empty when the
 * collector is not ours to point at (jaeger/tempo: the deployment is configured already; off).
 */
export function exporterEnvironment(traces: TraceSettings): Record<string, string> {
  if (traces.mode !== 'embedded' || !traces.otlpEndpoint) return {}
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: traces.otlpEndpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '200',
  }
}
