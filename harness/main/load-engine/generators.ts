/**
 * Runs the generator processes — one `artillery run` each, side by side — and waits for all of
 * them, bounded: a generator still running after the hard limit is killed (SIGTERM, then SIGKILL),
 * and an interrupted command kills them through the cleanup registry. Telemetry is off and the
 * only plugin loaded is the suite's (ARTILLERY_PLUGIN_PATH), so nothing leaves the machine.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { openSync, closeSync } from 'node:fs'
import path from 'node:path'
import { onCleanup } from '../cleanup.ts'
import type { LoadEngine } from './install.ts'
import { PLUGIN_PATH, type GeneratorFiles } from './script.ts'

export interface GeneratorExit {
  files: GeneratorFiles
  code: number | null
  signal: NodeJS.Signals | null
  /** killed at the hard limit */
  timedOut: boolean
}

export async function runGenerators(engine: LoadEngine, generators: GeneratorFiles[], hardLimitMs: number): Promise<GeneratorExit[]> {
  return Promise.all(generators.map((files) => runOne(engine, files, hardLimitMs)))
}

function runOne(engine: LoadEngine, files: GeneratorFiles, hardLimitMs: number): Promise<GeneratorExit> {
  const out = openSync(files.log, 'w', 0o600)
  let child: ChildProcess
  try {
    child = spawn(process.execPath, [engine.cli, 'run', path.basename(files.script)], {
      cwd: path.dirname(files.script),
      stdio: ['ignore', out, out],
      env: {
        ...process.env,
        ARTILLERY_DISABLE_TELEMETRY: 'true',
        ARTILLERY_PLUGIN_PATH: PLUGIN_PATH,
        // no module compile cache left in the temp directory
        NODE_DISABLE_COMPILE_CACHE: '1',
        // one worker thread: the arrivalCount phase runs there anyway, and each generator is its own process
        WORKERS: '1',
      },
    })
  } finally {
    closeSync(out)
  }
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  const unregister = onCleanup(`load generator ${path.basename(files.script)} (pid ${child.pid})`, kill, kill)
  return new Promise((resolve, reject) => {
    let timedOut = false
    const limit = setTimeout(() => {
      timedOut = true
      child.kill('SIGTERM')
      setTimeout(kill, 5_000).unref()
    }, hardLimitMs)
    child.on('error', (err) => {
      clearTimeout(limit)
      unregister()
      reject(new Error(`could not start the load generator (${engine.cli}): ${err.message}`))
    })
    child.on('exit', (code, signal) => {
      clearTimeout(limit)
      unregister()
      resolve({ files, code, signal, timedOut })
    })
  })
}
