/**
 * The four workflow shapes the benches create, read from the template files (so a deployment's
 * own templates directory, BENCH_TEMPLATES_DIR, can rename them), and request builders that make
 * every request's context unique (identical contexts are a 409 by contract).
 */
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { parse } from 'yaml'
import type { TaskRequest } from '../../tasker/api-client.ts'

export type Shape = 'linear' | 'diamond' | 'tree' | 'mixed_dag'

export interface Workflow {
  shape: Shape
  name: string
  namespace: string
  version: string
  steps: string[]
}

/** Recognised by their first step's name (docs/contract.md's reference shapes). */
const ROOT_STEP: Record<string, Shape> = { linear_step_1: 'linear', diamond_start: 'diamond', tree_root: 'tree', dag_init: 'mixed_dag' }

export function loadWorkflows(templatesDir: string): Record<Shape, Workflow> {
  const found: Partial<Record<Shape, Workflow>> = {}
  for (const file of readdirSync(templatesDir).filter((f) => /\.ya?ml$/.test(f))) {
    const where = path.join(templatesDir, file)
    const doc = parse(readFileSync(where, 'utf8')) as { name?: string; namespace_name?: string; version?: string; steps?: { name: string }[] }
    const steps = (doc.steps ?? []).map((s) => s.name)
    const shape = steps.map((s) => ROOT_STEP[s]).find(Boolean)
    if (!shape) continue
    if (!doc.name || !doc.namespace_name || !doc.version) throw new Error(`${where}: a template needs name, namespace_name and version`)
    found[shape] = { shape, name: doc.name, namespace: doc.namespace_name, version: String(doc.version), steps }
  }
  const missing = (Object.values(ROOT_STEP) as Shape[]).filter((s) => !found[s])
  if (missing.length > 0) throw new Error(`${templatesDir}: no template for ${missing.join(', ')} (looked for steps ${Object.keys(ROOT_STEP).join(', ')})`)
  return found as Record<Shape, Workflow>
}

const RUN_ID = crypto.randomUUID()
let sequence = 0

/** A request whose context is unique to this run and call (`_test_run_id`, `_seq`). */
export function taskRequest(workflow: Workflow, context: Record<string, unknown> = {}): TaskRequest {
  return {
    name: workflow.name,
    namespace: workflow.namespace,
    version: workflow.version,
    context: { even_number: 6, ...context, _test_run_id: RUN_ID, _seq: ++sequence },
    initiator: 'tasker-bench',
    source_system: 'tasker-bench',
    reason: `benchmark ${workflow.shape}`,
    tags: ['benchmark'],
  }
}
