/**
 * What the offline commands (scripts/bench-*.ts) share: a wrong flag is a UsageError, a run ends
 * with the command's exit code, and any error prints one line `<command>: <message>` and exits 2.
 */
export class UsageError extends Error {}

export function wholeNumber(raw: string | undefined, flag: string, min: number, max: number): number {
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${flag} ${raw}: expected a whole number within ${min}..${max}`)
  return n
}

export function runCommand(name: string, main: () => Promise<number> | number): void {
  Promise.resolve()
    .then(main)
    .then(
      (code) => (process.exitCode = code),
      (err: Error) => {
        console.error(`${name}: ${err.message}`)
        process.exitCode = 2
      },
    )
}
