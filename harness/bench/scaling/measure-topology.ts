/**
 * One topology's figures for the scaling bench: its throughput ceiling (a fixed number of linear
 * tasks kept in flight by many concurrent clients: tasks completed per second, first creation to
 * last completion) and its latency at a fixed offered rate (open model, coordinated omission
 * corrected). Bounded in count (tasks) and time (each task's timeout, the drain timeout).
 */
import { correctedLatencies, runOpenModel } from '../load/open-model.ts'
import type { TaskerClient } from '../../tasker/api-client.ts'
import type { CompletionWatcher } from '../../tasker/completion.ts'
import { taskRequest, type Workflow } from '../tasker/workflows.ts'

export interface TopologyLoad {
  api: TaskerClient
  watcher: CompletionWatcher
  workflow: Workflow
  /** tasks of the throughput ceiling, and how many are in flight at once */
  ceilingTasks: number
  inFlight: number
  /** the fixed offered rate (tasks/s) and how long it is held */
  rate: number
  seconds: number
  taskTimeoutMs: number
}

export interface TopologyFigures {
  /** tasks/s completed with `inFlight` tasks always in flight */
  throughput: number
  /** ms per task at the fixed rate, from its intended start */
  latencies: number[]
  /** tasks/s completed at the fixed rate (below the rate: the topology could not keep up) */
  achievedAtRate: number
  failed: number
}

export async function measureTopology(load: TopologyLoad): Promise<TopologyFigures> {
  const { api, watcher, workflow, taskTimeoutMs } = load
  const runOne = async () => {
    const created = await api.createTask(taskRequest(workflow))
    return (await watcher.wait(created.task_uuid, taskTimeoutMs)).at
  }

  let next = 0
  let failed = 0
  const started = performance.now()
  let lastDone = started
  await Promise.all(
    Array.from({ length: Math.min(load.inFlight, load.ceilingTasks) }, async () => {
      while (next < load.ceilingTasks) {
        next++
        try {
          lastDone = Math.max(lastDone, await runOne())
        } catch {
          failed++
        }
      }
    }),
  )
  const completed = load.ceilingTasks - failed
  const throughput = completed / Math.max((lastDone - started) / 1000, 1e-3)

  const result = await runOpenModel({ ratePerSecond: load.rate, durationMs: load.seconds * 1000, drainTimeoutMs: taskTimeoutMs, start: () => runOne() })
  const latencies = correctedLatencies(result)
  failed += result.arrivals.filter((a) => a.error).length + result.abandoned
  const last = Math.max(...result.arrivals.map((a) => a.doneAt ?? 0), result.startedAt + 1)
  const achievedAtRate = latencies.length / ((last - result.startedAt) / 1000)
  return { throughput, latencies, achievedAtRate, failed }
}
