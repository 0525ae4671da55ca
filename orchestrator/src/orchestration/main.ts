/**
 * The orchestration service: applies migrations, registers the templates, serves the REST API,
 * processes step results, schedules retries and recovers lost sends. One process; several may run
 * against one database (they coordinate there: claimed result messages, task row locks).
 *
 *   DATABASE_URL=postgres://… node orchestrator/src/orchestration/main.ts
 *
 * Environment: see ../config.ts (TASKER_PORT, TASKER_BIND_HOST, TASKER_REUSE_PORT, TASKER_POLL_INTERVAL_MS, …).
 */
import pg from 'pg'
import { loadOrchestrationConfig } from '../config.ts'
import { applyMigrations } from '../db/migrate.ts'
import { createPool, limitConfig } from '../db/pool.ts'
import { prewarmPool } from '../db/prewarm.ts'
import { completeSteps } from '../db/sql/complete-steps.ts'
import { enqueueReadySteps } from '../db/sql/enqueue-ready-steps.ts'
import { prepareSendMessages } from '../queues/send-messages.ts'
import { KNOWN_CALLABLES } from '../handlers/registry.ts'
import { failStartup, onShutdown, reportReady } from '../lifecycle.ts'
import { createLogger } from '../log.ts'
import { uuidv7 } from '../ids.ts'
import { NotificationListener } from '../queues/listener.ts'
import { readyChannel, workerQueue } from '../queues/names.ts'
import { initTelemetry } from '../telemetry/tracer.ts'
import { loadTemplates, TemplateRegistry } from '../templates/load-templates.ts'
import { startApiServer } from './http/server.ts'
import { LostStepRecovery } from './lost-step-recovery.ts'
import { registerTemplates } from './register-templates.ts'
import { ResultProcessor } from './result-processor.ts'
import { RetryScheduler } from './retry-scheduler.ts'
import { StepEnqueuer } from './step-enqueuer.ts'
import { TaskLocks } from './task-locks.ts'

async function main(): Promise<void> {
  let log = createLogger('orchestration')
  const config = (() => {
    try {
      return loadOrchestrationConfig()
    } catch (err) {
      return failStartup(log, err)
    }
  })()
  log = createLogger('orchestration', config.logLevel)
  const telemetry = await initTelemetry('tasker-orchestration', (l) => log.warn(l))

  const migrator = new pg.Client({ connectionString: config.databaseUrl, application_name: 'tasker-migrate', ...limitConfig(config.limits, config.limits.migrationTimeoutMs) })
  await migrator.connect()
  try {
    const { applied, pgmq } = await applyMigrations(migrator)
    log.info(`schema ready (${applied.length} migration(s) applied; pgmq ${pgmq.kind} ${pgmq.version})`)
  } finally {
    await migrator.end()
  }

  const registry = new TemplateRegistry(loadTemplates(config.templatesDir, KNOWN_CALLABLES))
  const pool = createPool(config.databaseUrl, config.poolSize, 'tasker-orchestration', config.limits)
  const registered = await registerTemplates(pool, registry)
  // Every connection open and the result path prepared on it (db/prewarm.ts), matching nothing:
  // the nil task and step have no rows, msg_id 0 does not exist, an empty send sends nothing.
  const nil = '00000000-0000-0000-0000-000000000000'
  // Names this instance in the completions it writes: several instances may share the database.
  const processorId = `orchestration-${uuidv7()}`
  const warmFailed = await prewarmPool(pool, config.poolSize, async (client) => {
    await completeSteps(client, [{ taskUuid: nil, stepUuid: nil, msgId: '0' }], processorId)
    await enqueueReadySteps(client, [nil], {}, { msgIds: ['0'] })
    for (const ns of registry.namespaces()) await prepareSendMessages(client, workerQueue(ns))
  })
  if (warmFailed) log.warn(`preparing the pool's connections failed (start-up continues): ${warmFailed.message}`)

  const enqueuer = new StepEnqueuer(pool, telemetry, log)
  const locks = new TaskLocks()
  const retries = new RetryScheduler(pool, enqueuer, locks, log, config.pollIntervalMs, config.coordination)
  const results = new ResultProcessor({
    pool,
    processorId,
    coordination: config.coordination,
    templates: registry,
    enqueuer,
    retries,
    locks,
    telemetry,
    log,
    visibilityTimeoutS: config.visibilityTimeoutS,
    concurrency: config.resultBatches,
    maxBatch: config.resultBatchSize,
  })
  const listener = new NotificationListener({
    connectionString: config.databaseUrl,
    channels: [readyChannel('orchestration')],
    limits: config.limits,
    onNotification: (_channel, payload) => results.notified(payload),
    onConnected: () => results.trigger(),
    log,
  })
  await listener.start()
  const poll = setInterval(() => results.trigger(), config.pollIntervalMs)
  retries.start()
  const recovery = new LostStepRecovery(pool, registry.namespaces(), config.staleEnqueuedS, log)
  recovery.start()

  const server = await startApiServer({ pool, registered, enqueuer, telemetry, log }, { host: config.bindHost, port: config.port, reusePort: config.reusePort })

  onShutdown(log, async () => {
    await server.close()
    clearInterval(poll)
    await listener.stop()
    await Promise.all([results.stop(), retries.stop(), recovery.stop()])
    await pool.end()
    await telemetry.shutdown()
  })
  reportReady(log, `orchestration listening on ${server.url}`, {
    url: server.url,
    processor: processorId,
    coordination: config.coordination,
    templates: registry.templates.map((t) => `${t.namespace}/${t.name}@${t.version}`),
    telemetry: telemetry.enabled,
  })
}

main().catch((err) => failStartup(createLogger('orchestration'), err))
