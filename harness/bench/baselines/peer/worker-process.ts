/**
 * A peer worker process: graphile-worker's runner with the one `peer_step` task, the same
 * concurrency per process as the floor's workers. graphile-worker is woken by its own
 * LISTEN/NOTIFY on job insertion; its own logging is kept to warnings and errors.
 */
import { Logger, run } from 'graphile-worker'
import { openPool } from '../../../db/connect.ts'
import type { Dag } from '../dag.ts'
import { onWorkerStop, reportReady, workerConfig } from '../worker-processes.ts'
import { peerTask } from './step-task.ts'
import { TASK_IDENTIFIER } from './statements.ts'

export interface PeerWorkerConfig {
  databaseUrl: string
  dags: Dag[]
  concurrency: number
}

const config = workerConfig<PeerWorkerConfig>()
const logger = new Logger(() => (level, message) => {
  if (level === 'error' || level === 'warning') console.error(`[peer worker ${process.pid}] ${level}: ${message}`)
})
// graphile-worker takes our pool (the suite's limits and name) rather than making its own.
const pool = openPool(config.databaseUrl, 'peer worker')
const runner = await run({
  pgPool: pool,
  concurrency: config.concurrency,
  noHandleSignals: true,
  logger,
  taskList: { [TASK_IDENTIFIER]: peerTask(new Map(config.dags.map((d) => [d.shape, d]))) },
})
onWorkerStop(() => runner.stop().finally(() => pool.end()))
reportReady()
