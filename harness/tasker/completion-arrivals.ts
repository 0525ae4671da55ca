/**
 * What the event watcher keeps between a completion's NOTIFY and the bench asking for it: a
 * completion can arrive before the POST's response does, so it is held — but the channel also
 * carries every other task's completions (other benches, other clients of a shared deployment),
 * which nobody will ask for. The buffer is bounded in count and age, oldest dropped first, and a
 * payload that is not the trigger's JSON is ignored and counted, never thrown from the listener.
 */

export interface TaskFinished {
  task_uuid: string
  state: string
}

/** The trigger's payload, or undefined for anything else (not JSON, wrong shape). */
export function parseTaskFinished(payload: string | undefined): TaskFinished | undefined {
  if (!payload) return undefined
  let body: unknown
  try {
    body = JSON.parse(payload)
  } catch {
    return undefined
  }
  if (typeof body !== 'object' || body === null) return undefined
  const { task_uuid, state } = body as Record<string, unknown>
  if (typeof task_uuid !== 'string' || task_uuid === '' || typeof state !== 'string' || state === '') return undefined
  return { task_uuid, state }
}

export interface ArrivalBufferOptions {
  /** most completions held at once (default 10,000) */
  maxEntries?: number
  /** a completion nobody asked for within this long is dropped (default 120 s) */
  maxAgeMs?: number
}

export class ArrivalBuffer<T extends { at: number }> {
  private readonly entries = new Map<string, T>()
  private readonly maxEntries: number
  private readonly maxAgeMs: number
  /** completions dropped unclaimed (too many or too old) */
  dropped = 0

  constructor(options: ArrivalBufferOptions = {}) {
    this.maxEntries = options.maxEntries ?? 10_000
    this.maxAgeMs = options.maxAgeMs ?? 120_000
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 1) throw new RangeError(`maxEntries must be a whole number ≥ 1 (got ${this.maxEntries})`)
  }

  get size(): number {
    return this.entries.size
  }

  /** Holds `value` for `key`; drops the oldest entries beyond the bounds (insertion order = age). */
  put(key: string, value: T): void {
    this.entries.delete(key)
    this.entries.set(key, value)
    for (const [k, v] of this.entries) {
      if (this.entries.size <= this.maxEntries && value.at - v.at <= this.maxAgeMs) break
      this.entries.delete(k)
      this.dropped++
    }
  }

  /** The held value for `key`, removed from the buffer. */
  take(key: string): T | undefined {
    const value = this.entries.get(key)
    if (value !== undefined) this.entries.delete(key)
    return value
  }
}
