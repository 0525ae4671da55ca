/**
 * Everything a run starts (servers, child processes, containers, temp directories) registers its
 * stop function here. `runCleanups()` stops them in reverse order; the signal and crash handlers
 * make sure that also happens on Ctrl-C, SIGTERM and an uncaught error, so an interrupted run
 * leaves nothing behind.
 *
 * Ctrl-C is often pressed more than once while a stop takes its time. The first signal starts the
 * orderly stop (at most FORCE_AFTER_MS); a second one is acknowledged and changes nothing; a third
 * (or the time limit) exits at once, and on the way out every stop that has a synchronous form
 * runs it (kill the server's process group, remove its directory), so even a forced exit leaves
 * nothing behind.
 */
import { constants } from 'node:os'
import { redactCredentials } from '../config/credentials.ts'

type Cleanup = { label: string; stop: () => Promise<void> | void; stopSync?: () => void }

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
const FORCE_AFTER_MS = 15_000

const cleanups: Cleanup[] = []
const interruptHooks: (() => unknown)[] = []
let handlersInstalled = false
let running: Promise<void> | undefined
/** what runCleanups is waiting for right now (named when a signal arrives meanwhile) */
let current: Cleanup | undefined
let signalsSeen = 0

/** Register a stop function; returns a function that unregisters it (after a normal stop). */
export function onCleanup(label: string, stop: () => Promise<void> | void, stopSync?: () => void): () => void {
  installHandlers()
  const entry: Cleanup = { label, stop, stopSync }
  cleanups.push(entry)
  return () => {
    const i = cleanups.indexOf(entry)
    if (i >= 0) cleanups.splice(i, 1)
  }
}

/** Called once, when the first stop signal arrives and before anything is stopped: a test runner
 *  cancels its run here, so that no further work starts against what is being stopped. */
export function onInterrupt(hook: () => unknown): void {
  installHandlers()
  interruptHooks.push(hook)
}

export function runCleanups(): Promise<void> {
  running ??= (async () => {
    while (cleanups.length > 0) {
      // Stays registered until stopped: if the process exits meanwhile (a forced exit, or another
      // SIGINT handler calling process.exit), the 'exit' hook still kills it the hard way.
      const c = cleanups[cleanups.length - 1]!
      current = c
      try {
        await c.stop()
      } catch (err) {
        // Every stop is tried, whichever failed before; a driver's message may quote a URL.
        console.error(`[cleanup] ${c.label}: ${redactCredentials((err as Error).message)}`)
      }
      const i = cleanups.lastIndexOf(c)
      if (i >= 0) cleanups.splice(i, 1)
    }
  })().finally(() => {
    running = undefined
    current = undefined
  })
  return running
}

function onSignal(signal: (typeof SIGNALS)[number]): void {
  signalsSeen++
  const code = 128 + constants.signals[signal]
  if (signalsSeen === 1) {
    console.error(`\n[tasker-bench] ${signal}: stopping what this run started… (press Ctrl-C twice more to force)`)
    for (const hook of interruptHooks) {
      try {
        void Promise.resolve(hook()).catch(() => {})
      } catch {
        /* stopping matters more */
      }
    }
    const force = setTimeout(() => forceExit(code, `stopping took more than ${FORCE_AFTER_MS / 1000} s`), FORCE_AFTER_MS)
    force.unref()
    void runCleanups().finally(() => process.exit(code))
  } else if (signalsSeen === 2) {
    console.error(`[tasker-bench] ${signal} again: still stopping${current ? ` ${current.label}` : ''}; once more kills what is left without waiting`)
  } else {
    forceExit(code, `${signal} a third time`)
  }
}

/** Exits now; the 'exit' hook runs the synchronous stops of whatever is still registered. */
function forceExit(code: number, why: string): never {
  const left = cleanups.map((c) => c.label).reverse()
  console.error(`[tasker-bench] ${why}: killing what is left${left.length ? ` (${left.join(', ')})` : ''}`)
  process.exit(code)
}

function installHandlers(): void {
  if (handlersInstalled) return
  handlersInstalled = true
  for (const signal of SIGNALS) {
    // This process stops what it started, and exits when that is done. A listener installed
    // before ours (Vitest's exits 1 ms after Ctrl-C) would cut the orderly stop short, leaving
    // only the hard kills of the 'exit' hook; its 'exit' listener still runs.
    for (const other of process.listeners(signal)) process.off(signal, other as () => void)
    process.on(signal, onSignal)
  }
  // Last resort on a hard exit: synchronous kills only (async work cannot run in 'exit').
  process.once('exit', () => {
    for (const c of cleanups.slice().reverse()) {
      try {
        c.stopSync?.()
      } catch {
        /* exiting anyway */
      }
    }
  })
}
