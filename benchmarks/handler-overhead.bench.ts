/**
 * Handler overhead: what the reference worker adds around a step handler, without the database.
 *   direct call       the handler function itself
 *   worker framework  the same handler through the worker's runHandler() (bench knobs read from
 *                     the context, the step timeout armed and cleared, the outcome wrapped)
 *   process boundary  runHandler() in a child process, one IPC round trip per call — the shape of
 *                     a handler living outside the worker (tasker-core's Ruby/Python FFI workers
 *                     hand steps across a boundary like this)
 * for a no-op handler and for the reference `arithmetic.square`.
 *
 * In-process calls take well under a microsecond, below what one timer reading resolves, so each
 * sample times a batch of calls and reports the time per call. Uses the orchestrator's own
 * modules (orchestrator/src), unchanged.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { afterAll, beforeAll, describe, inject, test } from 'vitest'
import { benchOptions } from '../harness/bench/bench-options.ts'
import { runHandler, square, type StepHandler, type StepInput } from '../orchestrator/index.ts'
import { waitForIdleBeforeFirstSample } from '../harness/bench/tasker/idle.ts'

const run = inject('run')
const TIMEOUT_S = 30
const BATCH = { direct: 1_000, framework: 100 }
const inProcess = benchOptions(run, 2_000, 200)
const crossProcess = benchOptions(run, 2_000, 200)

const noop: StepHandler = () => null
const HANDLERS: Record<string, { handler: StepHandler; callable: string }> = {
  'no-op': { handler: noop, callable: 'noop' },
  square: { handler: square, callable: 'arithmetic.square' },
}

/** A root step's input, as the worker builds it (context with the benchmark's run id, no parents). */
const input: StepInput = {
  taskUuid: '00000000-0000-7000-8000-000000000001',
  stepUuid: '00000000-0000-7000-8000-000000000002',
  stepName: 'linear_step_1',
  namespace: 'linear_workflow',
  context: { even_number: 6, _test_run_id: 'handler-overhead', _seq: 1 },
  parents: {},
  attempt: 1,
  initialization: {},
}

let child: HandlerProcess

beforeAll(async () => {
  child = await startHandlerProcess()
})

// No database here, but the run's workers draining an earlier file's backlog share the CPU.
waitForIdleBeforeFirstSample(run, 'handler-overhead')

afterAll(async () => {
  await child?.stop()
})

describe.each(Object.keys(HANDLERS))('%s handler', (name) => {
  const { handler, callable } = HANDLERS[name]!

  test('direct call', async ({ bench }) => {
    let sink: unknown
    await bench(`${name} handler: direct call`, () => {
      const t0 = performance.now()
      for (let i = 0; i < BATCH.direct; i++) sink = handler(input)
      const perCall = (performance.now() - t0) / BATCH.direct
      if (sink === undefined) throw new Error('the handler returned nothing')
      return { overriddenDuration: perCall }
    }).run(inProcess)
  })

  test('through the worker framework (runHandler)', async ({ bench }) => {
    await bench(`${name} handler: worker framework`, async () => {
      const t0 = performance.now()
      for (let i = 0; i < BATCH.framework; i++) {
        const outcome = await runHandler(handler, input, TIMEOUT_S)
        if (!outcome.ok) throw new Error(`runHandler failed: ${outcome.error.message}`)
      }
      return { overriddenDuration: (performance.now() - t0) / BATCH.framework }
    }).run(inProcess)
  })

  test('across a process boundary (child process, IPC)', async ({ bench }) => {
    await bench(`${name} handler: process boundary`, async () => {
      const t0 = performance.now()
      await child.call(callable, input)
      return { overriddenDuration: performance.now() - t0 }
    }).run(crossProcess)
  })
})

// ---- the child process -----------------------------------------------------------------------------

interface HandlerProcess {
  call(callable: string, input: StepInput): Promise<unknown>
  stop(): Promise<void>
}

/**
 * A child Node process that imports the orchestrator's runHandler and handlers and answers one
 * IPC message per call, in order (one call at a time).
 */
async function startHandlerProcess(): Promise<HandlerProcess> {
  const runHandlerUrl = new URL('../orchestrator/src/worker/run-handler.ts', import.meta.url).href
  const registryUrl = new URL('../orchestrator/src/handlers/registry.ts', import.meta.url).href
  const code = `
    const { runHandler } = await import(${JSON.stringify(runHandlerUrl)})
    const { HANDLERS } = await import(${JSON.stringify(registryUrl)})
    const noop = () => null
    process.on('message', async ({ callable, input }) => {
      const handler = callable === 'noop' ? noop : HANDLERS.get(callable)
      process.send(handler ? await runHandler(handler, input, ${TIMEOUT_S}) : { ok: false, error: { message: 'unknown handler ' + callable } })
    })
    process.on('disconnect', () => process.exit(0))
    process.send({ ready: true })
  `
  const proc: ChildProcess = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', code], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the handler child process did not start within 20 s')), 20_000)
    proc.once('message', () => {
      clearTimeout(timer)
      resolve()
    })
    proc.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`the handler child process exited during start (code ${code})`))
    })
  })
  return {
    call(callable, stepInput) {
      return new Promise((resolve, reject) => {
        proc.once('message', (outcome: { ok: boolean; error?: { message: string } }) => {
          if (outcome.ok) resolve(outcome)
          else reject(new Error(`handler ${callable} in the child process failed: ${outcome.error?.message}`))
        })
        proc.send({ callable, input: stepInput })
      })
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
      proc.disconnect()
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(timer)
    },
  }
}
