/**
 * A dedicated, persistent LISTEN connection whose notifications are timestamped the moment the
 * `notification` event fires, so a sample can end at the observed event rather than when the
 * awaiting code happens to resume.
 */
import { connectPg } from './connect.ts'

export interface ReceivedNotification {
  channel: string
  payload: string
  /** performance.now() when the event was emitted */
  at: number
}

export interface Listener {
  /** Resolves with the next notification on `channel` (registered before you trigger it). */
  next(channel: string, timeoutMs?: number): Promise<ReceivedNotification>
  close(): Promise<void>
}

const CHANNEL = /^[A-Za-z0-9_.]+$/

export async function createListener(connectionString: string, channels: string[]): Promise<Listener> {
  const client = await connectPg(connectionString, 'notification listener')
  const waiting = new Map<string, Array<(n: ReceivedNotification) => void>>()
  client.on('notification', (msg) => {
    const at = performance.now()
    const queue = waiting.get(msg.channel)
    const resolve = queue?.shift()
    resolve?.({ channel: msg.channel, payload: msg.payload ?? '', at })
  })
  for (const channel of channels) {
    if (!CHANNEL.test(channel)) throw new Error(`invalid channel name ${JSON.stringify(channel)} (letters, digits, _ and . only)`)
    await client.query(`LISTEN "${channel}"`)
  }
  return {
    next(channel, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const queue = waiting.get(channel) ?? []
        waiting.set(channel, queue)
        const timer = setTimeout(() => {
          const i = queue.indexOf(done)
          if (i >= 0) queue.splice(i, 1)
          reject(new Error(`no notification on ${channel} within ${timeoutMs} ms`))
        }, timeoutMs)
        function done(n: ReceivedNotification) {
          clearTimeout(timer)
          resolve(n)
        }
        queue.push(done)
      })
    },
    async close() {
      await client.end()
    },
  }
}
