/**
 * What work per task counts for each system of an interleaved baselines window: the E2E in the
 * orchestrator's database with its services, the floor and the peer in their scratch databases
 * with their own worker processes, the minimal chain in its scratch database. Each iteration ran
 * one task of each. On the suite's embedded baseline server the baselines share a database of
 * another server: then only the E2E is counted.
 */
import type { CpuAttribution } from '../work/work-meter.ts'
import { baselineName, interleavedE2eName } from '../../results/efficiency.ts'
import type { Baselines } from './start-baselines.ts'

type Systems = Record<string, { tasks: number; databases?: string[]; cpu?: CpuAttribution }>

export function baselineWork(shape: string, iterations: number, b: Baselines, databases: readonly string[]): Systems {
  const systems: Systems = {
    [interleavedE2eName(shape)]: { tasks: iterations, databases: [databases[0]!], cpu: { nodeGroups: ['node: orchestration', 'node: worker'] } },
  }
  if (b.description.server !== 'server under test') return systems
  systems[baselineName(shape, 'floor')] = { tasks: iterations, databases: [b.databases.floor], cpu: { nodeGroups: ['node: floor'] } }
  systems[baselineName(shape, 'peer')] = { tasks: iterations, databases: [b.databases.peer], cpu: { nodeGroups: ['node: peer'] } }
  // The minimal chain runs inside the bench process, whose CPU is the E2E's too: its database only.
  systems[baselineName(shape, 'minimal')] = { tasks: iterations, databases: [b.databases.minimal], cpu: { nodeGroups: [] } }
  return systems
}
