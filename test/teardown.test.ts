/**
 * Ctrl-C at the points a run passes through — initdb, the server's start, dataset seeding, the
 * end-to-end bench, the load bench — and Ctrl-C pressed three times while the stop hangs:
 * afterwards nothing of the run is left, judged as a user would (test/support/left-behind.ts): no
 * process that belongs to it in any process group (the embedded PostgreSQL runs detached in its
 * own), no port it opened still listening, nothing in its temp directory. Scratch databases live
 * in the embedded server's data directory and go with it.
 *
 * Each interrupt waits for a line the run prints as it reaches that point (BENCH_VERBOSE adds the
 * initdb and server-start lines), and checks afterwards that the run was indeed cut short there.
 */
import { describe, expect, test } from 'vitest'
import { childOf, interruptBench, interruptRun, stateWithin, type InterruptedRun, type InterruptStep } from './support/interrupt-run.ts'
import { postmasterOfRun, removeLeftovers, waitUntilNothingLeft } from './support/left-behind.ts'

/** A run on a busy machine takes up to a minute to reach its point (initdb alone can take 10 s). */
const RUN_TIMEOUT = { timeout: 300_000 }
const NO_ORCHESTRATOR = { BENCH_ORCHESTRATOR: 'off', BENCH_VERBOSE: 'true' }
const READY = /embedded PostgreSQL on 127\.0\.0\.1:\d+ \(initdb/
/** the pid in `PostgreSQL starting (pid N)`, printed right after the server is spawned */
const startingPid = ({ output }: { output: string }) => Number(output.match(/PostgreSQL starting \(pid (\d+)\)/)?.[1]) || undefined

/** Nothing of the run is left, and it was interrupted at each step the test meant it to be. */
async function expectNothingLeft(run: InterruptedRun, steps: number, keeps?: RegExp): Promise<void> {
  try {
    const left = await waitUntilNothingLeft(run.marks, run.ports, { keeps })
    const ended = `run ended (${run.code ?? run.signal}) after step ${run.stepsTaken} of ${steps} (${run.timeline}):\n${run.output.slice(-2000)}`
    expect(left.processes, `processes of the run still alive; ${ended}`).toEqual([])
    expect(left.ports, `ports the run opened (${run.ports.join(', ')}) still listening; ${ended}`).toEqual([])
    expect(left.tempFiles, `left in the run’s temp directory; ${ended}`).toEqual([])
    expect(run.stepsTaken, ended).toBe(steps)
  } finally {
    removeLeftovers(run.marks)
  }
}

describe('Ctrl-C leaves nothing behind', RUN_TIMEOUT, () => {
  test('during initdb', async () => {
    // The line comes just before initdb is spawned, and a loaded machine delays this reader, not
    // the run: a Ctrl-C sent on the line alone may land before initdb exists or after it is done.
    // So the run is held still (SIGSTOP to its group) once its initdb is seen running, Ctrl-C is
    // pressed while it is held, and it goes on (SIGCONT): the Ctrl-C reaches initdb. (Should
    // initdb be over before it was ever seen, the server's start line comes first and the run is
    // interrupted there instead; the same must hold.)
    // What initdb does with it depends on its phase: while it probes its defaults it runs
    // `postgres --check` through system(), which ignores SIGINT, so it finishes and the run stops
    // right after it has started the server; later it dies ("caught signal") and the run stops
    // with "initdb failed". Either way nothing is left, and no bench ran.
    let initdb: number | undefined
    let held = ''
    const steps: InterruptStep[] = [
      {
        when: /initdb in \S+…/,
        andWhen: ({ output, pid }) => (initdb = childOf(pid, 'initdb')) !== undefined || /PostgreSQL starting/.test(output),
        signal: 'SIGSTOP',
        then: () => {
          held = initdb === undefined ? 'not seen' : stateWithin(initdb)
        },
      },
      { when: /(?:)/ },
      { when: /(?:)/, signal: 'SIGCONT' },
    ]
    const run = await interruptBench(['benchmarks/event-propagation.bench.ts'], steps, NO_ORCHESTRATOR)
    await expectNothingLeft(run, steps.length)
    const where = held === 'stopped' ? `initdb (pid ${initdb}) held at the Ctrl-C` : `initdb ${held}`
    const stopped = /initdb failed/.test(run.output) ? 'initdb failed' : /PostgreSQL starting/.test(run.output) ? 'initdb finished, the server was started and stopped' : 'stopped before the server'
    console.log(`[teardown] during initdb: ${where}; ${stopped}`)
    expect(run.output, 'the interrupt was seen').toMatch(/SIGINT: stopping what this run started/)
    expect(run.output, 'no bench ran').not.toMatch(/stdout \| benchmarks\/|\[bench\]/)
    expect(run.code, run.output.slice(-2000)).not.toBe(0)
  })

  test('while the server starts', async () => {
    // Held mid-start (SIGSTOP, as a busy machine might hold it) until the run is stopping, so
    // the interrupt lands before the server is ready. The line comes right after the spawn, and a
    // loaded machine can delay this reader past the server's whole start (~0.2 s): then the server
    // is held once ready and the interrupt lands just after its start. Both must leave nothing.
    const steps = [
      { when: /PostgreSQL starting \(pid \d+\)/, signal: 'SIGSTOP' as const, to: startingPid },
      { when: /(?:)/ },
      { when: /stopping what this run started/, signal: 'SIGCONT' as const, to: startingPid },
    ]
    const run = await interruptBench(['benchmarks/event-propagation.bench.ts'], steps, NO_ORCHESTRATOR)
    await expectNothingLeft(run, steps.length)
    const ready = READY.test(run.output)
    console.log(`[teardown] while the server starts: ${ready ? 'the server was ready before it was held (reader delayed)' : 'held before it was ready'}`)
    expect(run.output, 'the interrupt was seen').toMatch(/SIGINT: stopping what this run started/)
    expect(run.output, 'no bench ran').not.toMatch(/stdout \| benchmarks\/|\[bench\]/)
    expect(run.code, run.output.slice(-2000)).not.toBe(0)
  })

  test('during dataset seeding', async () => {
    const steps = [{ when: /dataset @\S+: seeding tasks 0\.\./ }]
    const run = await interruptBench(['benchmarks/sql-functions.bench.ts'], steps, { ...NO_ORCHESTRATOR, BENCH_SQL_SCALES: '20000' })
    await expectNothingLeft(run, steps.length)
    expect(run.output, 'seeding did not finish').not.toMatch(/dataset @\S+: \+[\d,]+ tasks/)
  })

  test('during the end-to-end bench, with the orchestrator and workers running', async () => {
    const steps = [{ when: /\[e2e\] completion/ }]
    // 100 samples per scenario in the smoke profile: the first scenario lasts long enough to be
    // interrupted in.
    const run = await interruptBench(['benchmarks/e2e-latency.bench.ts', 'benchmarks/event-propagation.bench.ts'], steps, { BENCH_E2E_SAMPLES: '10000' })
    await expectNothingLeft(run, steps.length)
    expect(run.output).toMatch(/orchestrator: embedded at http:\/\/127\.0\.0\.1:\d+ with 2 worker/)
    expect(run.output, 'the bench did not finish').not.toMatch(/e2e linear: n=\d+/)
    expect(run.output, 'no further bench file started').not.toMatch(/stdout \| benchmarks\/event-propagation/)
  })

  test('during the load bench', async () => {
    const steps = [{ when: /\[load\] rates/ }]
    const run = await interruptBench(['benchmarks/load.bench.ts'], steps, { BENCH_LOAD_SECONDS: '30' })
    await expectNothingLeft(run, steps.length)
    expect(run.output, 'no load phase finished').not.toMatch(/\[load\] \d+\/s: \d+\/\d+ completed/)
  })
})

describe('Ctrl-C three times while stopping hangs', RUN_TIMEOUT, () => {
  // The server is frozen (SIGSTOP) before the first Ctrl-C, so its shutdown cannot finish: the
  // second Ctrl-C is sure to land during the stop, the third forces the exit, and the forced exit
  // still has to kill the server's process group and remove its directory.
  const thrice = (hold: InterruptStep): InterruptStep[] => [
    { ...hold, signal: 'SIGSTOP' },
    { when: /(?:)/ },
    { when: /stopping what this run started/ },
    { when: /again: still stopping/ },
  ]

  test('vitest bench', async () => {
    const steps = thrice({ when: /\[tasker-bench\] database postgres:/, to: startingPid })
    const run = await interruptBench(['benchmarks/event-propagation.bench.ts'], steps, NO_ORCHESTRATOR)
    await expectNothingLeft(run, steps.length)
    expect(run.output).toMatch(/a third time: killing what is left \(.*postgres on port \d+/)
    expect(run.code).toBe(130)
  })

  test('npm run orchestrator', async () => {
    const steps = thrice({ when: /Ctrl-C stops everything/, to: ({ marks }) => postmasterOfRun(marks) })
    const run = await interruptRun(['scripts/start-orchestrator.ts', '--workers', '1'], steps)
    // The script keeps its orchestrator logs for the user to read (it prints where they are).
    await expectNothingLeft(run, steps.length, /^tasker-orchestrator-logs-/)
    expect(run.output).toMatch(/a third time: killing what is left \(.*postgres on port \d+/)
    expect(run.code).toBe(130)
  })
})
