/**
 * A floor worker process: LISTENs on the wake channel, and on every notification (and once a
 * second, for a wake-up lost to a reconnect) drains the queue: pgmq.read claims up to its free
 * slots, each message runs on its own connection (runFloorStep), and reading goes on until the
 * queue has nothing visible. Concurrency per process: the same as the reference worker's default.
 */
import { connectPg, openPool } from '../../../db/connect.ts'
import { processPgLimits } from '../../../db/limits.ts'
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
// A child process applied no limits of its own: the run's statement timeout, the defaults for the rest.
const limits = { ...processPgLimits(), statementTimeoutMs: config.statementTimeoutMs, statementVariable: 'BENCH_STATEMENT_TIMEOUT_MS' as const }
const pool = openPool(config.databaseUrl, 'floor worker', limits, { max: config.concurrency })
const [reader, listener] = await Promise.all([connectPg(config.databaseUrl, 'floor worker reader', limits), connectPg(config.databaseUrl, 'floor worker listener', limits)])
const logError = (err: Error) => console.error(`[floor worker ${process.pid}] ${err.message}`)
pool.on('error', logError)
reader.on('error', logError)
listener.on('error', logError)

let inFlight = 0
let wanted = false
let draining = false
let starved = false

function wake(): void {
  wanted = true
  if (!draining) void drain()
}

async function drain(): Promise<void> {
  draining = true
  try {
    while (wanted) {
      wanted = false
      for (;;) {
        const free = config.concurrency - inFlight
        if (free === 0) {
          starved = true // a finishing step wakes the loop again
          break
        }
        const { rows } = await reader.query<{ msg_id: string; message: FloorMessage }>(READ, [QUEUE, config.visibilityTimeoutS, free])
        for (const row of rows) start(row.msg_id, row.message)
        // Fewer than asked: nothing else was visible. Reading again would find nothing (one wasted
        // round trip per wake-up); a message sent from now on NOTIFYs, which sets `wanted`.
        if (rows.length < free) break
      }
    }
  } catch (err) {
    console.error(`[floor worker ${process.pid}] reading ${QUEUE}: ${(err as Error).message}`)
  } finally {
    draining = false
  }
}

function start(msgId: string, message: FloorMessage): void {
  inFlight++
  void (async () => {
    const client = await pool.connect()
    try {
      const dag = dags.get(message.d)
      if (!dag) throw new Error(`message ${msgId} names an unknown shape ${message.d}`)
      await runFloorStep(client, dag, msgId, message)
    } finally {
      client.release()
    }
  })()
    .catch((err: Error) => console.error(`[floor worker ${process.pid}] step ${message.s} of task ${message.t}: ${err.message}`))
    .finally(() => {
      inFlight--
      if (starved) {
        starved = false
        wake()
      }
    })
}

listener.on('notification', wake)
await listener.query(`LISTEN ${WAKE_CHANNEL}`)
const poll = setInterval(wake, SAFETY_POLL_MS)
onWorkerStop(async () => {
  clearInterval(poll)
  await Promise.allSettled([listener.end(), reader.end(), pool.end()])
})
reportReady()
wake()
