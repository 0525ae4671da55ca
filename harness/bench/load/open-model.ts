/**
 * Open-model load: tasks arrive at a fixed rate for a bounded time, independent of completions.
 * Latency is measured from each arrival's *intended* start, so when the generator or the system
 * stalls the waiting time is counted instead of hidden (coordinated omission corrected).
 */
export interface Arrival {
  index: number
  /** performance.now() at which this task should have started */
  intendedAt: number
  /** when the request actually went out */
  sentAt: number
  /** when completion was observed; undefined if it failed */
  doneAt?: number
  error?: string
}

export interface OpenModelOptions {
  ratePerSecond: number
  durationMs: number
  /** one arrival: start the work, resolve with performance.now() of its observed completion */
  start: (index: number) => Promise<number>
  /** hard bound on how long to wait for stragglers after the last arrival */
  drainTimeoutMs?: number
  now?: () => number
  sleep?: (ms: number) => Promise<void>
}

export interface OpenModelResult {
  arrivals: Arrival[]
  startedAt: number
  lastArrivalAt: number
  finishedAt: number
  /** arrivals still unfinished when the drain timeout ran out */
  abandoned: number
}

export async function runOpenModel(options: OpenModelOptions): Promise<OpenModelResult> {
  const now = options.now ?? (() => performance.now())
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)))
  const total = Math.max(1, Math.round((options.ratePerSecond * options.durationMs) / 1000))
  const interval = 1000 / options.ratePerSecond
  const arrivals: Arrival[] = []
  const inFlight = new Set<Promise<void>>()
  const startedAt = now()

  for (let i = 0; i < total; i++) {
    const intendedAt = startedAt + i * interval
    const wait = intendedAt - now()
    if (wait > 0) await sleep(wait)
    const arrival: Arrival = { index: i, intendedAt, sentAt: now() }
    arrivals.push(arrival)
    const p: Promise<void> = options
      .start(i)
      .then(
        (doneAt) => {
          arrival.doneAt = doneAt
        },
        (err: unknown) => {
          arrival.error = err instanceof Error ? err.message : String(err)
        },
      )
      .finally(() => inFlight.delete(p))
    inFlight.add(p)
  }
  const lastArrivalAt = now()
  const drain = Promise.all([...inFlight])
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), options.drainTimeoutMs ?? 30_000).unref())
  await Promise.race([drain, timeout])
  return { arrivals, startedAt, lastArrivalAt, finishedAt: now(), abandoned: inFlight.size }
}

/** Latencies (ms) from intended start to observed completion, of the arrivals that completed. */
export function correctedLatencies(result: OpenModelResult): number[] {
  return result.arrivals.filter((a) => a.doneAt !== undefined).map((a) => a.doneAt! - a.intendedAt)
}

/** Completions per second over the whole window, first intended arrival → last completion. */
export function achievedThroughput(result: OpenModelResult): number {
  const done = result.arrivals.filter((a) => a.doneAt !== undefined)
  if (done.length === 0) return 0
  const last = Math.max(...done.map((a) => a.doneAt!))
  return (done.length * 1000) / Math.max(1, last - result.startedAt)
}
