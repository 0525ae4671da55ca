/** `benchmarks/event-propagation.bench.ts` → `event-propagation`: the key of a bench file in budgets and results. */
export function benchFileStem(fileName: string): string {
  const base = fileName.split(/[\\/]/).pop() ?? fileName
  return base.replace(/(\.(bench|test|spec))?\.[cm]?[jt]sx?$/, '')
}
