/**
 * The directories an offline command fills with its runs and replaces on its next start
 * (bench-power's --out, bench-calibrate's <results>/calibration). Replaced only when they carry
 * the command's own marker file, written when the command made them: a mistyped path, or a
 * directory someone keeps other files in, is refused, never deleted.
 */
import { lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { UsageError } from './command-line.ts'

/** `.tasker-bench-power` for bench-power: the file that says the command made the directory. */
export function markerName(command: string): string {
  return `.tasker-${command}`
}

/**
 * Makes `dir` an empty directory of `command` (marked as such): a missing or empty one is made,
 * one the command made before is removed first, anything else is refused with a UsageError
 * naming `flag` (how the user chose the path) and what to do.
 */
export function claimDirectory(dir: string, command: string, flag: string): void {
  const marker = path.join(dir, markerName(command))
  const stat = lstatSync(dir, { throwIfNoEntry: false })
  if (stat && !stat.isDirectory()) throw new UsageError(`${flag} ${dir} exists and is not a directory (${command} writes its runs into a directory of its own); choose another path`)
  if (stat && readdirSync(dir).length > 0) {
    if (!madeBy(marker, command)) {
      throw new UsageError(
        `${flag} ${dir} exists and was not made by ${command} (no ${markerName(command)} in it), so it is not replaced; choose a new directory, or remove this one yourself if nothing in it is needed`,
      )
    }
    rmSync(dir, { recursive: true, force: true })
  }
  mkdirSync(dir, { recursive: true })
  writeFileSync(marker, `${command}\n`)
}

function madeBy(marker: string, command: string): boolean {
  const stat = lstatSync(marker, { throwIfNoEntry: false })
  return stat?.isFile() === true && readFileSync(marker, 'utf8').trim() === command
}
