/**
 * The reference orchestrator's public surface: the one module anything outside orchestrator/
 * imports (test/import-graph.test.ts enforces it). The orchestrator itself runs as processes
 * (src/orchestration/main.ts, src/worker/main.ts; harness/main/orchestrator starts them); what is
 * exported here is what the harness and the suite's tests use in-process.
 */

import { fileURLToPath } from 'node:url'

// ---- the processes: run with `node <entry>`, configured by their environment (src/config.ts) ----
export const ORCHESTRATION_ENTRY = fileURLToPath(new URL('./src/orchestration/main.ts', import.meta.url))
export const WORKER_ENTRY = fileURLToPath(new URL('./src/worker/main.ts', import.meta.url))
/** Its image's Dockerfile and entrypoint, and the compose file that runs it as containers. */
export const DOCKER_DIR = fileURLToPath(new URL('./docker/', import.meta.url))

// ---- database: schema, SQL functions and pgmq ---------------------------------------------------
export { applyMigrations, migrationsDir } from './src/db/migrate.ts'
export { COMPATIBLE_SQL_PATH, detectPgmq, installPgmq } from './pgmq/install.ts'

// ---- handlers and the handler runner (the worker's in-process part) -----------------------------
export { MODULUS, multiplyParents, square } from './src/handlers/arithmetic.ts'
export { applyBenchKnobs, BENCH_KNOB_LIMITS, benchKnobProblem, readBenchKnobs } from './src/handlers/bench-knobs.ts'
export { HANDLERS, KNOWN_CALLABLES } from './src/handlers/registry.ts'
export { StepError, type StepHandler, type StepInput } from './src/handlers/types.ts'
export { runHandler, type HandlerOutcome } from './src/worker/run-handler.ts'

// ---- task templates ----------------------------------------------------------------------------
export { DEFAULT_TEMPLATES_DIR, loadTemplateFile, loadTemplates, TemplateRegistry } from './src/templates/load-templates.ts'
export { DEFAULT_RETRY } from './src/templates/types.ts'

// ---- what the orchestrator declares of tasker-core and pgmq (checked by the contract tests) ------
export { QUEUE_CREATED_TRIGGER, readFunctionShape, TASKER_CORE_COLUMNS, TASKER_CORE_FUNCTIONS } from './tasker-core-surface.ts'
export { PGMQ_ARCHIVE_TABLE, PGMQ_FUNCTIONS, PGMQ_QUEUE_TABLE, PGMQ_RELATIONS, readColumns, readPgmqFunctions } from './pgmq/pgmq-1.5.1-surface.ts'

// ---- parts the suite's tests of the orchestrator drive directly ----------------------------------
export { ConfigError, loadOrchestrationConfig, loadWorkerConfig } from './src/config.ts'
export { createPool, DEFAULT_DB_LIMITS } from './src/db/pool.ts'
export { claimSteps } from './src/db/sql/claim-steps.ts'
export { completeSteps } from './src/db/sql/complete-steps.ts'
export { enqueueReadySteps, type StepState } from './src/db/sql/enqueue-ready-steps.ts'
export { getTaskViews } from './src/db/sql/get-task-views.ts'
export { submitStepResult, type Submission } from './src/db/sql/submit-step-result.ts'
export { submitStepResults } from './src/db/sql/submit-step-results.ts'
export { isUuid, uuidv7 } from './src/ids.ts'
export { createLogger, type Logger } from './src/log.ts'
export { createTask } from './src/orchestration/create-task.ts'
export { validateTaskRequest } from './src/orchestration/http/validate-task-request.ts'
export { canonicalJson, identityHash } from './src/orchestration/identity-hash.ts'
export { LostStepRecovery } from './src/orchestration/lost-step-recovery.ts'
export { StepRunner } from './src/worker/step-runner.ts'
export { planTaskTransitions } from './src/orchestration/plan-task-transitions.ts'
export { registerTemplates } from './src/orchestration/register-templates.ts'
export { backoffSeconds } from './src/orchestration/retry-backoff.ts'
export { StepEnqueuer } from './src/orchestration/step-enqueuer.ts'
export { TaskLocks } from './src/orchestration/task-locks.ts'
export { BatchPipeline } from './src/queues/batch-pipeline.ts'
export { QueueDrainer } from './src/queues/drainer.ts'
export { notifiedMsgIds } from './src/queues/notified-msg-ids.ts'
export { sendMessages } from './src/queues/send-messages.ts'
export { DISABLED_TELEMETRY } from './src/telemetry/tracer.ts'
