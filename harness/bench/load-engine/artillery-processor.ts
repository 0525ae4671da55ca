/**
 * The Artillery processor of the distributed load (scripts/load-distributed.ts): runs inside each
 * load generator, one arrival per scenario. Each arrival creates a linear task through the API and
 * waits for its completion the way the load bench does (event: NOTIFY from the trigger the command
 * installed once; poll: GET /v1/tasks/{uuid}), then reports to Artillery:
 *   histogram tasker.task_latency     intended start → observed completion (ms)
 *   histogram tasker.arrival_lag      intended start → request sent (the generator's own lag)
 *   counter   tasker.completed / tasker.failed, tasker.latency_sq_sum (Σ latency², for the sd)
 * Artillery merges the histograms of its workers as DDSketches; the command merges the generator
 * processes' sketches the same way (never averaged percentiles).
 *
 * Coordinated omission: the generator's phase is `arrivalCount` over `duration`, which Artillery
 * runs as a uniform arrival process in a single worker thread, one arrival every `intervalMs`. The
 * k-th arrival's intended start is the schedule's start + k · intervalMs, so a stall of the
 * generator or the system is counted in the latency instead of hidden (as harness/bench/load/open-model.ts).
 * The schedule's start is the earliest that fits every arrival seen so far (min of arrival_j − j ·
 * intervalMs), not the first arrival's time: a late first arrival would otherwise put the later
 * ones' intended starts after their actual ones, and their latencies below zero.
 *
 * The command writes a small module per generator that calls configureLoadGenerator() and re-exports
 * this one, so the set-up (API pool, LISTEN connection) starts when Artillery loads the processor,
 * before the first arrival.
 */
import { createTaskerClient, type TaskerClient, type TaskerClientLimits } from '../../tasker/api-client.ts'
import { createEventWatcher, createPollWatcher, type CompletionWatcher } from '../../tasker/completion.ts'
import { loadWorkflows, taskRequest, type Workflow } from '../tasker/workflows.ts'

export interface LoadGeneratorConfig {
  orchestratorUrl: string
  completion: 'event' | 'poll'
  /** for event completion: the orchestrator's database, where the trigger is installed */
  databaseUrl?: string
  pollIntervalMs: number
  templatesDir: string
  /** the generator's arrival interval (ms), as Artillery's uniform process runs it */
  intervalMs: number
  /** which generator this is (in the task context, so tasks are unique across generators) */
  generator: number
  taskTimeoutMs: number
  /** the run's HTTP limits (BENCH_HTTP_TIMEOUT_MS, BENCH_CONNECT_TIMEOUT_MS) */
  limits: TaskerClientLimits
}

interface Generator {
  api: TaskerClient
  watcher: CompletionWatcher
  linear: Workflow
}

/** Artillery's per-scenario event emitter (the part used here). */
interface ArtilleryEvents {
  emit(kind: 'histogram' | 'counter', name: string, value: number): void
  emit(kind: 'error', message: string): void
}

let config: LoadGeneratorConfig | undefined
let ready: Promise<Generator> | undefined
let schedule: ArrivalSchedule | undefined

/**
 * The intended starts of a uniform arrival process whose start is not observed: the earliest start
 * that fits every arrival seen so far (min of arrival_j − j · intervalMs). An intended start read
 * later can only move earlier, and is never after its arrival's actual time.
 */
export class ArrivalSchedule {
  private arrivals = 0
  private start = Number.POSITIVE_INFINITY
  private readonly intervalMs: number
  constructor(intervalMs: number) {
    this.intervalMs = intervalMs
  }

  /** Registers an arrival at `now`; the returned function reads its intended start. */
  arrive(now: number): () => number {
    const k = this.arrivals++
    this.start = Math.min(this.start, now - k * this.intervalMs)
    return () => this.start + k * this.intervalMs
  }
}

export function configureLoadGenerator(c: LoadGeneratorConfig): void {
  config = c
  ready = setUp(c)
  ready.catch(() => {}) // reported by every arrival that awaits it
}

async function setUp(c: LoadGeneratorConfig): Promise<Generator> {
  const api = createTaskerClient(c.orchestratorUrl, 256, c.limits)
  await api.health()
  const watcher =
    c.completion === 'event'
      ? await createEventWatcher(c.databaseUrl!, api, {}, { trigger: 'existing' })
      : createPollWatcher(api, c.pollIntervalMs)
  return { api, watcher, linear: loadWorkflows(c.templatesDir).linear }
}

/** The scenario's one step (`flow: [{ function: taskerLinearTask }]`). */
export async function taskerLinearTask(_context: unknown, events: ArtilleryEvents): Promise<void> {
  const arrivedAt = performance.now()
  if (!config || !ready) throw new Error('the load generator was not configured: run it through npm run load:distributed')
  // Read when used: arrivals in between may have moved the schedule's start earlier, never later.
  const intendedAt = (schedule ??= new ArrivalSchedule(config.intervalMs)).arrive(arrivedAt)
  try {
    const g = await ready
    events.emit('histogram', 'tasker.arrival_lag', performance.now() - intendedAt())
    const created = await g.api.createTask(taskRequest(g.linear, { _generator: config.generator }))
    const done = await g.watcher.wait(created.task_uuid, config.taskTimeoutMs)
    const latency = done.at - intendedAt()
    events.emit('histogram', 'tasker.task_latency', latency)
    events.emit('counter', 'tasker.completed', 1)
    events.emit('counter', 'tasker.latency_sq_sum', latency * latency)
  } catch (err) {
    events.emit('counter', 'tasker.failed', 1)
    // Artillery counts each distinct message under errors.<message>: keep it short and free of ids.
    events.emit('error', oneLine(err))
  }
}

function oneLine(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
  return text.replace(/[0-9a-f]{8}-[0-9a-f-]{27,}/gi, '<uuid>').split('\n')[0]!.slice(0, 160)
}
