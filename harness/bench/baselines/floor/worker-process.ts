/**
 * A floor worker process: LISTENs on the wake channel, and on every notification (and once a
 * second, for a wake-up lost to a reconnect) drains the queue (claim-loop.ts): pgmq.read claims
 * up to its free slots, each message runs on its own connection (runFloorStep). Concurrency per
 * process: the same as the reference worker's default.
 */
import { connectPg, openPool } from '../../../db/connect.ts'
import { baselineLimits } from '../baseline.ts'
import { claimLoop } from '../claim-loop.ts'
import type { Dag } from '../dag.ts'
import { onWorkerStop, reportReady, workerConfig } from '../worker-processes.ts'
import type { FloorMessage } from './messages.ts'
import { runFloorStep } from './run-step.ts'
import { QUEUE, READ, WAKE_CHANNEL } from './statements.ts'

export interface FloorWorkerConfig {
  databaseUrl: string
  dags: Dag[]
  concurrency: number
  /** seconds a claimed message stays invisible to the other workers */
  visibilityTimeoutS: number
  statementTimeoutMs: number
}

const SAFETY_POLL_MS = 1_000

const config = workerConfig<FloorWorkerConfig>()
const dags = new Map(config.dags.map((d) => [d.shape, d]))
const limits = baselineLimits(config.statementTimeoutMs)
const pool = openPool(config.databaseUrl, 'floor worker', limits, { max: config.concurrency })
const [reader, listener] = await Promise.all([connectPg(config.databaseUrl, 'floor worker reader', limits), connectPg(config.databaseUrl, 'floor worker listener', limits)])
const logError = (err: Error) => console.error(`[floor worker ${process.pid}] ${err.message}`)
pool.on('error', logError)
reader.on('error', logError)
listener.on('error', logError)

type Claimed = { msg_id: string; message: FloorMessage }
const loop = claimLoop<Claimed>({
  slots: config.concurrency,
  claim: async (free) => (await reader.query<Claimed>(READ, [QUEUE, config.visibilityTimeoutS, free])).rows,
  async run({ msg_id, message }) {
    const dag = dags.get(message.d)
    if (!dag) throw new Error(`message ${msg_id} names an unknown shape ${message.d}`)
    const client = await pool.connect()
    try {
      await runFloorStep(client, dag, msg_id, message)
    } finally {
      client.release()
    }
  },
  report: (err, item) => logError(new Error(item ? `step ${item.message.s} of task ${item.message.t}: ${err.message}` : `reading ${QUEUE}: ${err.message}`)),
})

listener.on('notification', loop.wake)
await listener.query(`LISTEN ${WAKE_CHANNEL}`)
const poll = setInterval(loop.wake, SAFETY_POLL_MS)
onWorkerStop(async () => {
  clearInterval(poll)
  loop.stop()
  await Promise.allSettled([listener.end(), reader.end(), pool.end()])
})
reportReady()
loop.wake()
