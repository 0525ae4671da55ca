/** The messages between the handler-overhead bench and its child process (over Node's IPC channel). */
import type { HandlerOutcome, StepInput } from '../../../orchestrator/index.ts'

/** bench → child: run one handler once. `noop` is a handler returning null, not in the registry. */
export interface HandlerCall {
  callable: string
  input: StepInput
}

/** child → bench: first `{ ready: true }`, then one outcome per call, in order. */
export type HandlerReply = { ready: true } | HandlerOutcome
