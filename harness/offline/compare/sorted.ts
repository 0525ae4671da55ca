/** The tests below work on ascending samples; retained samples already are, so sort only when needed. */
export function ascending(samples: readonly number[]): readonly number[] {
  for (let i = 1; i < samples.length; i++) {
    if (samples[i]! < samples[i - 1]!) return [...samples].sort((a, b) => a - b)
  }
  return samples
}
