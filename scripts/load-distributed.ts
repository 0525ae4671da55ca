/**
 * The load bench's open-model profile on a distributed load engine (Artillery), for load past what
 * one client process can offer: BENCH_LOAD_RATES × BENCH_LOAD_SECONDS linear tasks split over
 * --generators Artillery processes, completion per task as the suite measures it, latency from
 * each arrival's intended start, the generators' DDSketches merged, and the result written as the
 * load bench's (`load > load linear @<rate>/s`) with its budgets checked, into BENCH_RESULTS_DIR.
 * The engine is installed on first use into .cache/load-engine/ (harness/main/load-engine/install.ts).
 *
 *   npm run load:distributed -- [--generators 2]
 *
 * Exit code 1 when a budget is violated, a task failed, or a generator did not finish.
 */
import { parseArgs } from 'node:util'
import { runCleanups } from '../harness/main/cleanup.ts'
import { runDistributedLoad } from '../harness/main/load-engine/run.ts'
import { redactCredentials } from '../harness/config/credentials.ts'

const log = (line: string) => console.log(`[load:distributed] ${redactCredentials(line.replace(/^\[load:distributed\] /, ''))}`)

function generatorsArg(raw: string | undefined): number {
  if (raw === undefined) return 2
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`--generators takes a whole number from 1 to 64 (got ${raw})`)
  return n
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { generators: { type: 'string' } } })
  const { exitCode } = await runDistributedLoad({ root: process.cwd(), generators: generatorsArg(values.generators), log })
  return exitCode
}

main()
  .then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      console.error(`[load:distributed] ${redactCredentials(err instanceof Error ? err.message : String(err))}`)
      process.exitCode = 1
    },
  )
  .finally(() => runCleanups())
