/**
 * One bench iteration = one task of each contender (the E2E and the baselines), so that all of
 * them see the same phase of a machine whose speed drifts by 10–30 % over minutes. The orders
 * follow a Williams design: over a cycle of iterations each contender takes every position equally
 * often and follows every other contender equally often — a plain rotation would always put the
 * same contender right after the same one, and whatever one leaves behind (warm caches, a
 * checkpoint, autovacuum) would always land on the same other. The E2E sample is the bench's own;
 * the baselines' samples are kept (run phase only) for recordSamples().
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
  const orders = balancedOrders(names.length)
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
      const order = orders[iteration++ % orders.length]!.map((i) => names[i]!)
      const taken: Record<string, number> = {}
      for (const name of order) taken[name] = await contenders[name]!()
      if (phase === 'run') for (const name of names) samples[name]!.push(taken[name]!)
      completed++
      return { overriddenDuration: taken.e2e! }
    },
  }
}

/**
 * The orders of a Williams design for n contenders (indices): n orders for an even n, 2n for an
 * odd one (each order and its reverse). Row i is the first row plus i (mod n), the first row
 * 0, 1, n−1, 2, n−2, …
 */
export function balancedOrders(n: number): number[][] {
  const first = Array.from({ length: n }, (_, k) => (k === 0 ? 0 : k % 2 === 1 ? (k + 1) / 2 : n - k / 2))
  const rows = Array.from({ length: n }, (_, i) => first.map((c) => (c + i) % n))
  return n % 2 === 0 ? rows : [...rows, ...rows.map((r) => [...r].reverse())]
}
