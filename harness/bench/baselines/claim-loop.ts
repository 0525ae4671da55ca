/**
 * The claim loop of the floor's worker processes and of the minimal chain. A wake-up (a NOTIFY, a
 * poll, or a finished step after every slot was taken) claims up to the free slots, again until a
 * claim returns fewer than asked: nothing else was visible, and claiming again would cost a round
 * trip for nothing (a later send NOTIFYs, which wakes the loop). Each claimed item runs on its
 * own; errors are reported, never thrown.
 */
export interface ClaimLoopParts<T> {
  /** items that may run at once */
  slots: number
  claim(free: number): Promise<T[]>
  run(item: T): Promise<void>
  /** a failed claim (no item) or a failed run */
  report(err: Error, item?: T): void
}

export interface ClaimLoop {
  wake(): void
  /** no claim starts after this; running items finish */
  stop(): void
}

export function claimLoop<T>(parts: ClaimLoopParts<T>): ClaimLoop {
  let inFlight = 0
  let wanted = false
  let draining = false
  let starved = false
  let stopped = false
  const wake = () => {
    wanted = true
    if (!draining && !stopped) void drain()
  }
  const drain = async () => {
    draining = true
    try {
      while (wanted && !stopped) {
        wanted = false
        for (;;) {
          const free = parts.slots - inFlight
          if (free === 0) {
            starved = true // a finishing item wakes the loop again
            break
          }
          const items = await parts.claim(free)
          for (const item of items) start(item)
          if (items.length < free) break
        }
      }
    } catch (err) {
      if (!stopped) parts.report(err as Error)
    } finally {
      draining = false
    }
  }
  const start = (item: T) => {
    inFlight++
    Promise.resolve()
      .then(() => parts.run(item))
      .catch((err: Error) => parts.report(err, item))
      .finally(() => {
        inFlight--
        if (starved) {
          starved = false
          wake()
        }
      })
  }
  return {
    wake,
    stop: () => {
      stopped = true
    },
  }
}
