/** The calls the SQL bench times: the measured database's Tasker functions, and pgmq's. */
import { qualifiedName, type TaskerFunctionName, type TaskerFunctions } from '../../db/tasker-functions.ts'

export interface TaskerCalls {
  nextReady: string
  readiness: string
  readinessBatch: string
  context: string
  ancestors: string
}

/** Each function called in the schema where the measured database has it. */
export function taskerCalls(functions: TaskerFunctions, database: string): TaskerCalls {
  const fn = (name: TaskerFunctionName) => qualifiedName(functions, name, database)
  return {
    nextReady: `SELECT * FROM ${fn('get_next_ready_tasks')}($1::integer)`,
    readiness: `SELECT * FROM ${fn('get_step_readiness_status')}($1::uuid)`,
    readinessBatch: `SELECT * FROM ${fn('get_step_readiness_status_batch')}($1::uuid[])`,
    context: `SELECT * FROM ${fn('get_task_execution_context')}($1::uuid)`,
    ancestors: `SELECT * FROM ${fn('get_step_transitive_dependencies')}($1::uuid)`,
  }
}

export const PGMQ_CALLS = {
  create: 'SELECT pgmq.create($1::text)',
  purge: 'SELECT pgmq.purge_queue($1::text)',
  send: 'SELECT pgmq.send($1::text, $2::jsonb) AS msg_id',
  sendBatch: 'SELECT pgmq.send_batch($1::text, $2::jsonb[]) AS msg_id',
  read: 'SELECT msg_id FROM pgmq.read($1::text, $2::integer, $3::integer)',
  delete: 'SELECT pgmq.delete($1::text, $2::bigint) AS deleted',
  archive: 'SELECT pgmq.archive($1::text, $2::bigint) AS archived',
} as const

/** A step message as the orchestrator sends them. */
export const stepMessage = () => ({ task_uuid: crypto.randomUUID(), step_uuid: crypto.randomUUID(), correlation_id: crypto.randomUUID() })
