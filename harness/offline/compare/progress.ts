/**
 * Progress of long work (calibration, interleaved A/B runs): one timestamped line per step on
 * stderr, so stdout keeps only the results. Quiet in CI unless BENCH_VERBOSE=true; warnings are
 * always shown.
 */
export interface Progress {
  /** a step started or finished */
  step(message: string): void
  warn(message: string): void
  readonly quiet: boolean
}

export function createProgress(tool: string, options: { quiet: boolean; write?: (line: string) => void }): Progress {
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`))
  const stamp = () => new Date().toISOString().slice(11, 19)
  return {
    quiet: options.quiet,
    step(message) {
      if (!options.quiet) write(`[${tool} ${stamp()}] ${message}`)
    },
    warn(message) {
      write(`[${tool}] warning: ${message}`)
    },
  }
}

/** `84 s`, `12 min 5 s` */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000)
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`
}
