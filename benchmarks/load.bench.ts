/**
 * Load at a fixed arrival rate (open model): linear tasks arrive at each rate of BENCH_LOAD_RATES
 * for BENCH_LOAD_SECONDS, independent of completions. Each task's latency runs from its intended
 * start to its observed completion (coordinated omission corrected), so a stall is not hidden.
 * Reported per rate: achieved throughput, p50/p95/p99/max, peak queue depth, failures; and the
 * rate at which latency breaks down, and the work per completed task at each rate (harness/bench/work/).
 * Loopback only; bounded in count (rate × seconds) and time.
 */
import pg from 'pg'
import { afterAll, describe, expect, inject, test } from 'vitest'
import { achievedThroughput, correctedLatencies, runOpenModel } from '../harness/bench/load/open-model.ts'
import { annotateResult, recordSamples } from '../harness/bench/record.ts'
import { summarize } from '../harness/results/percentiles.ts'
import { pgLimits } from '../harness/db/limits.ts'
import { connectPg } from '../harness/db/connect.ts'
import { orchestratorSession } from '../harness/bench/tasker/orchestrator-session.ts'
import { profileValue } from '../harness/config/profile.ts'
import { noOrchestrator, skipReason } from '../harness/bench/requirements.ts'
import { taskRequest } from '../harness/bench/tasker/workflows.ts'
import { workPerTask } from '../harness/bench/work/bench-work.ts'

const run = inject('run')
const skip = skipReason('load', noOrchestrator(run))
const work = workPerTask(run, 'load')
const rates = profileValue(run.settings, 'BENCH_LOAD_RATES')
const seconds = profileValue(run.settings, 'BENCH_LOAD_SECONDS')
/** Latency is "broken down" at a rate whose p99 exceeds this, or whose throughput falls behind. */
const BREAKDOWN_P99_MS = 100
const TASK_TIMEOUT_MS = 30_000
const QUEUE_SAMPLE_MS = 250

let db: pg.Client | undefined
const verdicts: { rate: number; p99: number | undefined; throughput: number; brokeDown: boolean }[] = []
const tasker = orchestratorSession(run, 'load', {
  skip,
  connections: 256,
  watch: true,
  then: async ({ completion }) => {
    if (completion.mode === 'event') {
      db = await connectPg(run.databaseUrl, 'load: queue depth', pgLimits(run.settings), { options: '-c default_transaction_read_only=on' })
    }
    console.log(`[load] rates ${rates.join(', ')} tasks/s for ${seconds} s each; completion ${completion.mode}`)
  },
})

afterAll(async () => {
  await db?.end()
  if (verdicts.length > 0) {
    const broken = verdicts.find((v) => v.brokeDown)
    console.log(
      broken
        ? `[load] latency breaks down at ${broken.rate} tasks/s (${broken.p99 === undefined ? 'no task completed' : `p99 ${broken.p99.toFixed(1)} ms`}, ${broken.throughput.toFixed(1)} tasks/s achieved)`
        : `[load] no breakdown up to ${Math.max(...verdicts.map((v) => v.rate))} tasks/s (p99 ≤ ${BREAKDOWN_P99_MS} ms, throughput kept up)`,
    )
  }
})

/** Samples total queue depth (all pgmq queues) every QUEUE_SAMPLE_MS while `until` is pending. */
async function sampleQueueDepth(until: Promise<unknown>): Promise<{ t: number; depth: number }[]> {
  if (!db) return []
  const series: { t: number; depth: number }[] = []
  let done = false
  until.finally(() => (done = true))
  const t0 = performance.now()
  while (!done) {
    const { rows } = await db.query<{ depth: string }>('SELECT coalesce(sum(queue_length), 0) AS depth FROM pgmq.metrics_all()')
    series.push({ t: Math.round(performance.now() - t0), depth: Number(rows[0]!.depth) })
    await new Promise((r) => setTimeout(r, QUEUE_SAMPLE_MS))
  }
  return series
}

describe.each(rates)('%i linear tasks/s', (rate) => {
  test.skipIf(skip !== undefined)(`for ${seconds} s`, async ({ task }) => {
    const ids: { task_uuid: string; correlation_id: string }[] = []
    const start = () => runOpenModel({
      ratePerSecond: rate,
      durationMs: seconds * 1000,
      drainTimeoutMs: TASK_TIMEOUT_MS,
      start: async () => {
        const created = await tasker.api.createTask(taskRequest(tasker.workflows.linear))
        ids.push({ task_uuid: created.task_uuid, correlation_id: created.correlation_id })
        return (await tasker.watcher.wait(created.task_uuid, TASK_TIMEOUT_MS)).at
      },
    })
    // the work window opens before the first arrival; the tasks that completed are the divisor
    const [result, queue] = await work.around(task, `load linear @${rate}/s`, () => {
      const load = start()
      return Promise.all([load, sampleQueueDepth(load)])
    }, ([r]) => correctedLatencies(r).length)
    const latencies = correctedLatencies(result)
    const failures = result.arrivals.filter((a) => a.error)
    const throughput = achievedThroughput(result)
    const lag = result.lastArrivalAt - (result.startedAt + seconds * 1000)

    // Every task may have failed: then there is no latency to summarise, and the failures are the report.
    const summary = latencies.length > 0 ? summarize(latencies) : undefined
    const brokeDown = !summary || summary.p99 > BREAKDOWN_P99_MS || throughput < rate * 0.9 || failures.length > 0 || result.abandoned > 0
    verdicts.push({ rate, p99: summary?.p99, throughput, brokeDown })
    const peakQueue = Math.max(0, ...queue.map((q) => q.depth))
    const latencyText = summary
      ? `p50 ${summary.p50.toFixed(1)} p95 ${summary.p95.toFixed(1)} p99 ${summary.p99.toFixed(1)} max ${summary.max.toFixed(1)} ms`
      : 'no task completed, so no latency'
    console.log(
      `[load] ${rate}/s: ${latencies.length}/${result.arrivals.length} completed, ${throughput.toFixed(1)} tasks/s achieved, ` +
        `${latencyText}, peak queue depth ${peakQueue}, generator lag ${lag.toFixed(0)} ms${failures.length ? `, ${failures.length} failed: ${failures[0]!.error}` : ''}`,
    )
    const extra = {
      offeredRate: rate,
      seconds,
      achievedThroughput: throughput,
      arrivals: result.arrivals.length,
      failed: failures.length,
      abandoned: result.abandoned,
      generatorLagMs: lag,
      queueDepth: queue,
      taskIds: ids,
    }
    if (summary) recordSamples(task, `load linear @${rate}/s`, latencies, extra)
    else annotateResult(task, extra)
    annotateResult(task, { breakdownP99Ms: BREAKDOWN_P99_MS, brokeDown, completionWatcher: tasker.watcher.stats() })
    // A failed or abandoned task is a failure of the system under test, reported with its reason.
    expect(failures.map((f) => f.error), 'tasks that failed under load').toEqual([])
    expect(result.abandoned, 'tasks still running after the drain timeout').toBe(0)
  })
})
