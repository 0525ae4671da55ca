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
 * handlers and runHandler, unchanged; the child process is harness/bench/handler-process/child.ts.
 */
import { afterAll, beforeAll, describe, inject, test } from 'vitest'
import { benchOptions } from '../harness/bench/bench-options.ts'
import { runHandler, square, type StepHandler, type StepInput } from '../orchestrator/index.ts'
import { waitForIdleBeforeFirstSample } from '../harness/bench/tasker/idle.ts'
import { startHandlerProcess, type HandlerProcess } from '../harness/bench/handler-process/start.ts'

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
  child = await startHandlerProcess(TIMEOUT_S)
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
