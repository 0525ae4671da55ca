/** Starts the handler child process (child.ts) and calls handlers in it, one call at a time. */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { StepInput } from '../../../orchestrator/index.ts'
import type { HandlerCall, HandlerReply } from './protocol.ts'

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url))
const START_TIMEOUT_MS = 20_000

export interface HandlerProcess {
  call(callable: string, input: StepInput): Promise<unknown>
  stop(): Promise<void>
}

/** `timeoutSeconds`: each handler call's limit, as the worker applies it. */
export async function startHandlerProcess(timeoutSeconds: number): Promise<HandlerProcess> {
  const proc = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', CHILD, String(timeoutSeconds)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the handler child process (${CHILD}) did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS)
    proc.once('message', () => {
      clearTimeout(timer)
      resolve()
    })
    proc.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`the handler child process (${CHILD}) exited during start (code ${code})`))
    })
  })
  return {
    call(callable, input) {
      return new Promise((resolve, reject) => {
        proc.once('message', (outcome: HandlerReply) => {
          if ('ok' in outcome && outcome.ok) resolve(outcome)
          else reject(new Error(`handler ${callable} in the child process failed: ${'error' in outcome ? outcome.error.message : 'no outcome'}`))
        })
        proc.send({ callable, input } satisfies HandlerCall)
      })
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
      proc.disconnect()
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(timer)
    },
  }
}
