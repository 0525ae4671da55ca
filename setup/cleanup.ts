/**
 * Everything a run starts (servers, child processes, containers, temp directories) registers its
 * stop function here. `runCleanups()` stops them in reverse order; the signal and crash handlers
 * make sure that also happens on Ctrl-C, SIGTERM and an uncaught error, so an interrupted run
 * leaves nothing behind.
 */
type Cleanup = { label: string; stop: () => Promise<void> | void; stopSync?: () => void }

const cleanups: Cleanup[] = []
let handlersInstalled = false
let running: Promise<void> | undefined

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

export function runCleanups(): Promise<void> {
  running ??= (async () => {
    while (cleanups.length > 0) {
      // Stays registered until stopped: if the process exits meanwhile (another SIGINT handler
      // may call process.exit), the 'exit' hook still kills it the hard way.
      const c = cleanups[cleanups.length - 1]!
      try {
        await c.stop()
      } catch (err) {
        console.error(`[cleanup] ${c.label}: ${(err as Error).message}`)
      }
      const i = cleanups.lastIndexOf(c)
      if (i >= 0) cleanups.splice(i, 1)
    }
  })().finally(() => {
    running = undefined
  })
  return running
}

function installHandlers(): void {
  if (handlersInstalled) return
  handlersInstalled = true
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      console.error(`\n[tasker-bench] ${signal}: stopping what this run started…`)
      const force = setTimeout(() => process.exit(130), 15_000)
      force.unref()
      runCleanups().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143))
    })
  }
  // Last resort on a hard exit: synchronous kills only (async work cannot run in 'exit').
  process.once('exit', () => {
    for (const c of cleanups.reverse()) {
      try {
        c.stopSync?.()
      } catch {
        /* exiting anyway */
      }
    }
  })
}
