/**
 * The layout's boundaries hold in the real tree (test/support/import-graph.ts lists them), and the
 * check catches each kind of crossing.
 */
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { boundaryViolations, importGraph, importsOf, tsFiles } from './support/import-graph.ts'

const ROOT = path.resolve(import.meta.dirname, '..')

describe('the import graph of the tree', () => {
  const edges = importGraph(ROOT)

  test('is read from every part of the tree', () => {
    const files = tsFiles(ROOT)
    for (const dir of ['orchestrator/', 'harness/db/', 'harness/tasker/', 'harness/main/', 'harness/bench/', 'harness/offline/', 'harness/results/', 'harness/config/', 'benchmarks/', 'scripts/', 'test/']) {
      expect(files.some((f) => f.startsWith(dir)), dir).toBe(true)
    }
    expect(edges.length).toBeGreaterThan(200)
  })

  test('crosses no boundary', () => {
    expect(boundaryViolations(edges)).toEqual([])
  })

  test('fixtures/ holds data only, benchmarks/ no code but bench files', () => {
    expect(tsFiles(ROOT).filter((f) => f.startsWith('fixtures/'))).toEqual([])
    // (saved baselines, JSON, may live under benchmarks/baselines/: data, not code)
    expect(tsFiles(ROOT).filter((f) => f.startsWith('benchmarks/') && !f.endsWith('.bench.ts'))).toEqual([])
  })
})

describe('the boundary check', () => {
  const violations = (file: string, source: string) => boundaryViolations(importsOf(file, source))

  test('reports an import into the orchestrator past its entry module, with file and line', () => {
    expect(violations('harness/main/x.ts', "import a from 'b'\nimport { applyMigrations } from '../../orchestrator/src/db/migrate.ts'\n")).toEqual([
      'harness/main/x.ts:2 imports orchestrator/src/db/migrate.ts: outside orchestrator/, import only orchestrator/index.ts',
    ])
    expect(violations('harness/main/x.ts', "import { applyMigrations } from '../../orchestrator/index.ts'")).toEqual([])
  })

  test('reports a path into the orchestrator named with new URL', () => {
    expect(violations('test/a.test.ts', "const SQL = new URL('../orchestrator/migrations/0001_schema.sql', import.meta" + '.url)')).toHaveLength(1)
  })

  test('reports the orchestrator importing the suite', () => {
    expect(violations('orchestrator/src/a.ts', "export { x } from '../../harness/config/settings.ts'")).toHaveLength(1)
  })

  test('reports each layer crossing; type-only imports from bench into main pass', () => {
    expect(violations('harness/offline/report/a.ts', "import { x } from '../../main/environment.ts'")).toHaveLength(1)
    expect(violations('harness/offline/report/a.ts', "import type { x } from '../../bench/record.ts'")).toHaveLength(1)
    expect(violations('harness/results/a.ts', "import { x } from '../offline/report/format.ts'")).toHaveLength(1)
    expect(violations('harness/config/a.ts', "const m = await import('../main/cleanup.ts')")).toHaveLength(1)
    expect(violations('harness/bench/a.ts', "import { onCleanup } from '../main/cleanup.ts'")).toHaveLength(1)
    expect(violations('harness/bench/a.ts', "import type { StartedPostgres } from '../main/postgres/types.ts'")).toEqual([])
    expect(violations('harness/main/a.ts', "import { y } from '../offline/report/finish-run.ts'")).toEqual([])
  })

  test('reports the main process importing bench-worker code; types, and the shared rooms, pass', () => {
    expect(violations('harness/main/a.ts', "import { x } from '../bench/record.ts'")).toEqual([
      'harness/main/a.ts:1 imports harness/bench/record.ts: main-process code never imports bench-worker code (types only); what both use lives in harness/db, harness/tasker or harness/results',
    ])
    expect(violations('harness/main/load-engine/a.ts', "const m = await import('../../bench/tasker/idle.ts')")).toHaveLength(1)
    expect(violations('harness/main/a.ts', "import type { SketchFile } from '../bench/load-engine/artillery-plugin-tasker-sketch/index.ts'")).toEqual([])
    expect(violations('harness/main/a.ts', "import { withClient } from '../db/with-client.ts'\nimport { createTaskerClient } from '../tasker/api-client.ts'")).toEqual([])
    expect(violations('harness/bench/a.ts', "import { connectPg } from '../db/connect.ts'")).toEqual([])
  })

  test('reports the shared rooms importing either side, and config or results importing the rooms', () => {
    expect(violations('harness/db/a.ts', "import { onCleanup } from '../main/cleanup.ts'")).toHaveLength(1)
    expect(violations('harness/tasker/a.ts', "import { annotateResult } from '../bench/record.ts'")).toHaveLength(1)
    expect(violations('harness/db/a.ts', "import type { RunInfo } from '../bench/record.ts'")).toHaveLength(1)
    expect(violations('harness/results/traces/a.ts', "import { withClient } from '../../db/with-client.ts'")).toHaveLength(1)
    expect(violations('harness/db/a.ts', "import { redactUrl } from '../config/settings.ts'\nimport type { RunInfo } from '../results/run-info.ts'")).toEqual([])
  })
})
