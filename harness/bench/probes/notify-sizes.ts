/**
 * Probe: pgmq_send_with_notify announces messages of every size as the contract says
 * (docs/contract.md "Queues and notifications"): a message whose text is under 7000 characters
 * travels inside the notification (`message_with_payload`); 7000 or more, the notification is a
 * signal (`message_ready`, `payload_omitted: true`, no message); a notification never passes
 * 7800 characters, and it is valid JSON. And a short message of multi-byte text (under 7000
 * characters, over 8000 bytes, NOTIFY's limit) must still be sent and announced: the limit of
 * the notification must not make the send fail.
 *
 * Sends on a queue of its own (created here: run it in a scratch database) and listens on
 * `pgmq_message_ready`, where every message is announced.
 */
import type pg from 'pg'
import { newClient } from '../../db/connect.ts'
import type { ProbeResult } from '../../results/findings.ts'

const QUEUE = 'tasker_bench_probe_queue'
const CHANNEL = 'pgmq_message_ready'
const WAIT_MS = 10_000

interface Case {
  label: string
  /** characters of the message's text (jsonb::text) */
  chars: number
  /** the filler character: 'x' (1 byte) or 'é' (2 bytes in UTF-8) */
  fill: string
  expect: 'inline' | 'signal' | 'either'
}

const CASES: Case[] = [
  { label: '6,999 characters', chars: 6999, fill: 'x', expect: 'inline' },
  { label: '7,001 characters', chars: 7001, fill: 'x', expect: 'signal' },
  { label: '7,801 characters', chars: 7801, fill: 'x', expect: 'signal' },
  { label: '4,509 characters of 2-byte text (9,009 bytes)', chars: 4509, fill: 'é', expect: 'either' },
]

/** `{"p": "xxx…"}` has 9 characters besides the filler, as jsonb prints it. */
const message = (c: Case) => ({ p: c.fill.repeat(c.chars - 9) })

export async function probeNotifySizes(url: string, sendWithNotify: string): Promise<ProbeResult> {
  const name = 'notify payload sizes'
  const listener = newClient(url, 'probe listener')
  const sender = newClient(url, 'probe sender')
  const received: string[] = []
  try {
    await listener.connect()
    await sender.connect()
    listener.on('notification', (n) => {
      if (n.channel === CHANNEL) received.push(n.payload ?? '')
    })
    await listener.query(`LISTEN ${CHANNEL}`)
    await sender.query('SELECT pgmq.create($1::text)', [QUEUE])
    const evidence: string[] = []
    let failed = false
    for (const c of CASES) {
      const msg = message(c)
      const { rows } = await sender.query<{ n: number }>('SELECT length($1::jsonb::text)::int AS n', [msg])
      if (rows[0]!.n !== c.chars) throw new Error(`notify probe: built a ${rows[0]!.n}-character message for the ${c.chars}-character case`)
      const line = await sendOne(sender, sendWithNotify, msg, c, received)
      failed ||= !line.ok
      evidence.push(`${c.label}: ${line.text}`)
    }
    return { name, status: failed ? 'fail' : 'pass', evidence }
  } finally {
    await sender.query('SELECT pgmq.drop_queue($1::text)', [QUEUE]).catch(() => {})
    for (const c of [listener, sender]) await c.end().catch(() => {})
  }
}

async function sendOne(sender: pg.Client, fn: string, msg: object, c: Case, received: string[]): Promise<{ ok: boolean; text: string }> {
  let msgId: string
  try {
    msgId = String((await sender.query<{ id: string }>(`SELECT ${fn}($1::text, $2::jsonb, 0) AS id`, [QUEUE, msg])).rows[0]!.id)
  } catch (err) {
    return { ok: false, text: `the send failed: ${(err as Error).message}` }
  }
  const deadline = Date.now() + WAIT_MS
  const mine = (p: string) => new RegExp(`"msg_id"\\s*:\\s*${msgId}\\b`).test(p)
  while (!received.some(mine) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  const payload = received.find(mine)
  if (payload === undefined) return { ok: false, text: `message ${msgId} sent, no notification within ${WAIT_MS / 1000} s` }
  let event: Record<string, unknown>
  try {
    event = JSON.parse(payload) as Record<string, unknown>
  } catch {
    return { ok: false, text: `the notification (${payload.length} characters) is not valid JSON` }
  }
  const inline = event.event_type === 'message_with_payload' && JSON.stringify(event.message) === JSON.stringify(msg)
  const signal = event.event_type === 'message_ready' && event.payload_omitted === true && event.message === undefined
  const kind = inline ? 'message inline' : signal ? `signal only${event.truncated ? ' (truncated: true)' : ''}` : `event_type ${String(event.event_type)}`
  const ok = payload.length <= 7800 && (c.expect === 'inline' ? inline : c.expect === 'signal' ? signal : inline || signal)
  const wanted = c.expect === 'inline' ? 'message inline' : c.expect === 'signal' ? 'signal only' : 'a notification'
  return { ok, text: `${kind}, ${payload.length}-character notification${ok ? '' : ` (expected ${wanted}, at most 7,800 characters)`}` }
}
