/**
 * The floor, the peer and the minimal chain for a bench file: their databases (databases.ts), the
 * same number of worker processes as the orchestrator under test (BENCH_WORKERS) and the reference
 * worker's concurrency per process (the minimal chain: as many steps at once, in one process);
 * close() stops the workers and drops the databases.
 */
import type { RunInfo } from '../../results/run-info.ts'
import type { Shape } from '../tasker/workflows.ts'
import { WORKER_CONCURRENCY, type Baseline } from './baseline.ts'
import { openBaselineDatabase, type BaselineDatabase } from './databases.ts'
import type { Dag } from './dag.ts'
import { startFloor } from './floor/start-floor.ts'
import { startPeer } from './peer/start-peer.ts'
import { startMinimalChain } from './minimal/start-minimal.ts'

export interface Baselines {
  floor: Baseline
  peer: Baseline
  minimal: Baseline
  /** recorded with every result: where each ran and how */
  /** the baselines' database names on their server (the same one on the embedded baseline server) */
  databases: { floor: string; peer: string; minimal: string }
  description: { workers: number; concurrency: number; floor: string; peer: string; minimal: string; floorDatabase: string; peerDatabase: string; minimalDatabase: string; server: BaselineDatabase['server']; pgmq: string }
  close(): Promise<void>
}

export async function startBaselines(run: RunInfo, dags: Record<Shape, Dag>, log: (line: string) => void): Promise<Baselines> {
  const workers = run.orchestrator.workers ?? run.settings.BENCH_WORKERS
  const common = { workers, concurrency: WORKER_CONCURRENCY, statementTimeoutMs: run.settings.BENCH_STATEMENT_TIMEOUT_MS }
  const opened: { close(): Promise<void> }[] = []
  const close = async () => {
    for (const item of opened.reverse()) await item.close().catch((err: Error) => log(`stopping a baseline: ${err.message}`))
  }
  try {
    const floorDb = await openBaselineDatabase(run, 'floor', log)
    opened.push(floorDb)
    const peerDb = await openBaselineDatabase(run, 'peer', log)
    opened.push(peerDb)
    const minimalDb = await openBaselineDatabase(run, 'minimal', log)
    opened.push(minimalDb)
    const floor = await startFloor(dags, { ...common, databaseUrl: floorDb.url })
    opened.push(floor)
    const peer = await startPeer(dags, { ...common, databaseUrl: peerDb.url })
    opened.push(peer)
    const minimal = await startMinimalChain(dags, { ...common, databaseUrl: minimalDb.url })
    opened.push(minimal)
    const datname = (url: string) => decodeURIComponent(new URL(url).pathname.slice(1)) || 'postgres'
    return {
      floor,
      peer,
      minimal,
      databases: { floor: datname(floorDb.url), peer: datname(peerDb.url), minimal: datname(minimalDb.url) },
      description: {
        ...common,
        floor: floor.description,
        peer: peer.description,
        minimal: minimal.description,
        floorDatabase: floorDb.reason,
        peerDatabase: peerDb.reason,
        minimalDatabase: minimalDb.reason,
        server: floorDb.server,
        pgmq: floorDb.pgmq,
      },
      close,
    }
  } catch (err) {
    await close()
    throw err
  }
}
