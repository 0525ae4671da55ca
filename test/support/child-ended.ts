/**
 * A child process's end, once its output pipes have closed too: 'exit' can come before the last of
 * its output has been read (a busy machine delays the reader), and a test that then looks for that
 * output would pass only when it wins the race. Bounded: a process the child left behind could hold
 * the pipes open, so the end is taken at most `graceMs` after the exit.
 */
import type { ChildProcess } from 'node:child_process'

export interface ChildEnd {
  code: number | null
  signal: NodeJS.Signals | null
}

export function childEnded(child: ChildProcess, graceMs = 10_000): Promise<ChildEnd> {
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      const done = () => {
        clearTimeout(grace)
        resolve({ code, signal })
      }
      const grace = setTimeout(done, graceMs)
      child.once('close', done)
    })
  })
}
