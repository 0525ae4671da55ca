/**
 * The handler-overhead bench's child process: the orchestrator's runHandler and handlers in a
 * process of their own, answering one IPC message per call, in order (one call at a time).
 *
 *   node harness/bench/handler-process/child.ts <timeout seconds>
 */
import { HANDLERS, runHandler, type StepHandler } from '../../../orchestrator/index.ts'
import type { HandlerCall, HandlerReply } from './protocol.ts'

const timeoutSeconds = Number(process.argv[2])
if (!process.send || !(timeoutSeconds > 0)) {
  console.error('handler child: run by the handler-overhead bench with an IPC channel and a timeout in seconds as its argument')
  process.exit(2)
}
const reply = (message: HandlerReply) => process.send!(message)
const noop: StepHandler = () => null

process.on('message', async ({ callable, input }: HandlerCall) => {
  const handler = callable === 'noop' ? noop : HANDLERS.get(callable)
  reply(handler ? await runHandler(handler, input, timeoutSeconds) : { ok: false, error: { message: `unknown handler ${callable}`, retryable: false, name: 'Error' } })
})
process.on('disconnect', () => process.exit(0))
reply({ ready: true })
