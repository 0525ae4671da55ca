/**
 * A worker process: serves the worker_<namespace>_queue of each namespace (all templates' by
 * default, or TASKER_NAMESPACES), woken by `pgmq_message_ready.<namespace>` with a fallback
 * poll. Run several; each needs a distinct TASKER_WORKER_ID (generated when unset).
 *
 *   DATABASE_URL=postgres://… TASKER_WORKER_ID=w1 node orchestrator/src/worker/main.ts
 */
import { loadWorkerConfig } from '../config.ts'
import { createPool } from '../db/pool.ts'
import { prewarmPool } from '../db/prewarm.ts'
import { submitStepResult } from '../db/sql/submit-step-result.ts'
import { claimSteps, type ClaimedMessage } from '../db/sql/claim-steps.ts'
import { claimStepsById } from '../db/sql/claim-steps-by-id.ts'
import { KNOWN_CALLABLES } from '../handlers/registry.ts'
import { failStartup, onShutdown, reportReady } from '../lifecycle.ts'
import { createLogger } from '../log.ts'
import { QueueDrainer } from '../queues/drainer.ts'
import { ensureQueues } from '../queues/ensure-queues.ts'
import { NotificationListener } from '../queues/listener.ts'
import { readyChannel, workerQueue } from '../queues/names.ts'
import { notifiedMsgIds } from '../queues/notified-msg-ids.ts'
import { initTelemetry, nowMs } from '../telemetry/tracer.ts'
import { loadTemplates, TemplateRegistry } from '../templates/load-templates.ts'
import { ResultSubmitter } from './result-submitter.ts'
import { StepRunner } from './step-runner.ts'

const NIL_UUID = '00000000-0000-0000-0000-000000000000'

interface Claimed {
  message: ClaimedMessage
  started: number
  ended: number
}

async function main(): Promise<void> {
  let log = createLogger('worker')
  const config = (() => {
    try {
      return loadWorkerConfig()
    } catch (err) {
      return failStartup(log, err)
    }
  })()
  log = createLogger(`worker ${config.workerId}`, config.logLevel)
  const telemetry = await initTelemetry('tasker-worker', (l) => log.warn(l), config.workerId)
  const registry = new TemplateRegistry(loadTemplates(config.templatesDir, KNOWN_CALLABLES))
  const namespaces = config.namespaces ?? registry.namespaces()
  for (const ns of namespaces) {
    if (!registry.namespaces().includes(ns)) log.warn(`namespace ${ns} has no template in ${config.templatesDir}; its steps will fail`)
  }

  const pool = createPool(config.databaseUrl, config.poolSize, `tasker-worker-${config.workerId}`, config.limits)
  const { rows } = await pool.query<{ ok: boolean }>(`SELECT to_regprocedure('tasker.transition_step(uuid,text[],text,jsonb)') IS NOT NULL AS ok`)
  if (!rows[0]!.ok) throw new Error('the tasker schema is missing from DATABASE_URL: start the orchestration service first (it applies the migrations)')
  await ensureQueues(pool, namespaces.map(workerQueue))
  // Every connection open and the hot path prepared on it (db/prewarm.ts), matching nothing:
  // msg_id 0 does not exist, LIMIT 0 reads nothing, the nil step has no row.
  const warmFailed = await prewarmPool(pool, config.poolSize, async (client) => {
    for (const queue of namespaces.map(workerQueue)) {
      await claimSteps(client, queue, config.visibilityTimeoutS, 0, config.workerId)
      await claimStepsById(client, queue, config.visibilityTimeoutS, ['0'], config.workerId)
      await submitStepResult(client, { stepUuid: NIL_UUID, outcome: 'success', results: null, metadata: {}, resultMessage: { task_uuid: NIL_UUID, step_uuid: NIL_UUID, correlation_id: NIL_UUID }, ownMessage: { queue, msgId: '0' } })
    }
  })
  if (warmFailed) log.warn(`preparing the pool's connections failed (start-up continues): ${warmFailed.message}`)

  const submitter = new ResultSubmitter(pool)
  const runner = new StepRunner({ pool, templates: registry, telemetry, log, submitter, workerId: config.workerId, visibilityTimeoutS: config.visibilityTimeoutS, stepDelayMs: config.stepDelayMs, extraStatementsPerStep: config.extraStatementsPerStep })
  // One drainer per namespace, each with the full concurrency: a step holds a connection only to
  // claim and to submit, not while its handler runs.
  const drainers = new Map(
    namespaces.map((ns) => {
      const queue = workerQueue(ns)
      const drainer = new QueueDrainer<Claimed>({
        concurrency: config.concurrency,
        read: async (max) => {
          const started = nowMs()
          const claimed = await claimSteps(pool, queue, config.visibilityTimeoutS, max, config.workerId)
          const ended = nowMs()
          return claimed.map((message) => ({ message, started, ended }))
        },
        readIds: async (ids) => {
          const started = nowMs()
          const claimed = await claimStepsById(pool, queue, config.visibilityTimeoutS, ids, config.workerId)
          const ended = nowMs()
          return claimed.map((message) => ({ message, started, ended }))
        },
        handle: (c) => runner.run(c.message, queue, c.started, c.ended),
        key: (c) => c.message.msg_id,
        onError: (err, phase) => log.error(`${queue}: ${phase} failed: ${(err as Error).message}`),
      })
      return [ns, drainer] as const
    }),
  )
  const triggerAll = () => {
    for (const d of drainers.values()) d.trigger()
  }
  // Anyone who can connect may NOTIFY: say once that ids were dropped, not once per notification.
  let warnedIgnoredIds = false
  const warnIgnoredIdsOnce = (ids: unknown[]) => {
    if (warnedIgnoredIds) return
    warnedIgnoredIds = true
    log.warn(`ignored msg_ids that name no possible pgmq message (not an integer from 1 to 2^63-1), keeping the rest of the notification; further ones are ignored silently: ${JSON.stringify(ids).slice(0, 200)}`)
  }
  const channelToNamespace = new Map(namespaces.map((ns) => [readyChannel(ns), ns]))
  const listener = new NotificationListener({
    connectionString: config.databaseUrl,
    channels: [...channelToNamespace.keys()],
    limits: config.limits,
    onNotification: (channel, payload) => {
      const ns = channelToNamespace.get(channel)
      const drainer = ns === undefined ? undefined : drainers.get(ns)
      if (!drainer) return
      // Claim the messages the notification names; read the queue when it names none of ours.
      const ids = notifiedMsgIds(payload, workerQueue(ns!), warnIgnoredIdsOnce)
      if (ids) drainer.offer(ids)
      else drainer.trigger()
    },
    onConnected: triggerAll,
    log,
  })
  await listener.start()
  const poll = setInterval(triggerAll, config.pollIntervalMs)

  onShutdown(log, async () => {
    clearInterval(poll)
    await listener.stop()
    await Promise.all([...drainers.values()].map((d) => d.stop()))
    await pool.end()
    await telemetry.shutdown()
  })
  if (config.extraStatementsPerStep > 0) log.warn(`experiment knob TASKER_WORKER_EXTRA_STATEMENTS=${config.extraStatementsPerStep}: every step runs ${config.extraStatementsPerStep} extra statement(s) after its handler`)
  if (config.stepDelayMs > 0) log.warn(`experiment knob TASKER_WORKER_STEP_DELAY_MS=${config.stepDelayMs}: every step waits ${config.stepDelayMs} ms before its handler`)
  reportReady(log, `worker ${config.workerId} ready`, { workerId: config.workerId, namespaces, telemetry: telemetry.enabled })
}

main().catch((err) => failStartup(createLogger('worker'), err))
