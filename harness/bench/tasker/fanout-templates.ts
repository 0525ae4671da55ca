/**
 * The step-enqueueing bench's workflows: fanout_<n>.yaml in the templates directory, N root
 * steps and nothing else, in the bench's own namespace (so every message on its queue is its own).
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { parse } from 'yaml'
import type { TaskRequest } from '../../tasker/api-client.ts'

export interface FanoutTemplate {
  name: string
  namespace: string
  version: string
  steps: number
}

export function loadFanoutTemplates(dir: string, sizes: readonly number[], namespace: string): Map<number, FanoutTemplate> {
  const found = new Map<number, FanoutTemplate>()
  for (const n of sizes) {
    const file = path.join(dir, `fanout_${n}.yaml`)
    let doc: { name?: string; namespace_name?: string; version?: string; steps?: { name: string; dependencies?: string[] }[] }
    try {
      doc = parse(readFileSync(file, 'utf8')) as typeof doc
    } catch (err) {
      throw new Error(`${file}: cannot read the step-enqueueing template (${(err as Error).message}); the templates directory must have ${sizes.map((k) => `fanout_${k}`).join(', ')}`)
    }
    const steps = doc.steps ?? []
    const roots = steps.filter((s) => (s.dependencies ?? []).length === 0).length
    if (doc.namespace_name !== namespace || roots !== n || steps.length !== n || !doc.name || !doc.version) {
      throw new Error(`${file}: expected ${n} steps, all roots, in namespace ${namespace} (found ${steps.length} steps, ${roots} roots, namespace ${doc.namespace_name})`)
    }
    found.set(n, { name: doc.name, namespace: doc.namespace_name, version: String(doc.version), steps: n })
  }
  return found
}

const RUN_ID = crypto.randomUUID()
let sequence = 0

/** Identical contexts are a 409 by contract: every request's context is unique to this run and call. */
export function fanoutRequest(t: FanoutTemplate): TaskRequest {
  return {
    name: t.name,
    namespace: t.namespace,
    version: t.version,
    context: { even_number: 6, _test_run_id: RUN_ID, _seq: ++sequence },
    initiator: 'tasker-bench',
    source_system: 'tasker-bench',
    reason: `benchmark enqueue ${t.steps} root steps`,
    tags: ['benchmark'],
  }
}
