/**
 * One bench iteration = one task of each contender (the E2E and the baselines), in an order that
 * rotates from one iteration to the next, so that each sees every position equally often and all
 * of them the same phase of a machine whose speed drifts by 10–30 % over minutes. The E2E sample
 * is the bench's own; the baselines' samples are kept (run phase only) for recordSamples().
 */
export type Contender = () => Promise<number>

export interface Interleaved {
  /** the bench function: returns the E2E sample as Vitest's overriddenDuration */
  fn: () => Promise<{ overriddenDuration: number }>
  fnOpts: { beforeAll(mode?: string): void }
  /** run-phase samples by contender name, in the order taken */
  samples: Record<string, number[]>
  /** iterations completed, warm-up included: each ran one task of every contender (work per task's divisor) */
  iterations(): number
}

export function interleave(e2e: Contender, baselines: Record<string, Contender>): Interleaved {
  let phase: 'warmup' | 'run' = 'warmup'
  let iteration = 0
  const names = ['e2e', ...Object.keys(baselines)]
  const contenders: Record<string, Contender> = { e2e, ...baselines }
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]))
  let completed = 0
  return {
    samples,
    iterations: () => completed,
    fnOpts: {
      beforeAll(mode?: string) {
        phase = mode === 'warmup' ? 'warmup' : 'run'
      },
    },
    async fn() {
      const shift = iteration++ % names.length
      const order = [...names.slice(shift), ...names.slice(0, shift)]
      const taken: Record<string, number> = {}
      for (const name of order) taken[name] = await contenders[name]!()
      if (phase === 'run') for (const name of names) samples[name]!.push(taken[name]!)
      completed++
      return { overriddenDuration: taken.e2e! }
    },
  }
}
