/**
 * The four workflow shapes a dataset is made of, read from the task templates in
 * fixtures/templates/ (the same YAML the reference orchestrator registers), so the generated
 * steps and edges are exactly the templates' (docs/contract.md "Task templates").
 */
import path from 'node:path'
import { DEFAULT_TEMPLATES_DIR, loadTemplateFile } from '../../../orchestrator/index.ts'

export type ShapeName = 'linear' | 'diamond' | 'tree' | 'mixed_dag'

/** Which template each shape is, and the names the published benchmarks use for it. */
export const SHAPE_TEMPLATES: Record<ShapeName, { file: string; namespace: string; name: string; version: string; steps: number }> = {
  linear: { file: 'linear_workflow.yaml', namespace: 'linear_workflow', name: 'mathematical_sequence', version: '1.0.0', steps: 3 },
  diamond: { file: 'diamond_workflow.yaml', namespace: 'diamond_workflow', name: 'diamond_pattern', version: '1.0.0', steps: 4 },
  tree: { file: 'tree_workflow.yaml', namespace: 'tree_workflow', name: 'hierarchical_tree', version: '1.0.0', steps: 8 },
  mixed_dag: { file: 'mixed_dag_workflow.yaml', namespace: 'mixed_dag_workflow', name: 'complex_dag', version: '1.0.0', steps: 7 },
}

export const SHAPE_NAMES = Object.keys(SHAPE_TEMPLATES) as ShapeName[]

export interface ShapeStep {
  name: string
  /** index in a topological order: every parent has a smaller position */
  position: number
  /** positions of the parents */
  parents: number[]
  retryable: boolean
  maxAttempts: number
}

export interface DatasetShape {
  shape: ShapeName
  namespace: string
  name: string
  version: string
  description: string
  steps: ShapeStep[]
  /** the template as registered in named_tasks.configuration */
  configuration: Record<string, unknown>
}

/**
 * Loads the shapes in SHAPE_NAMES order. Throws when a template file no longer matches the shape
 * it stands for (renamed, or a different step count): datasets must not change silently.
 */
export function loadShapes(templatesDir: string = DEFAULT_TEMPLATES_DIR): DatasetShape[] {
  return SHAPE_NAMES.map((shape) => {
    const expected = SHAPE_TEMPLATES[shape]
    const file = path.join(templatesDir, expected.file)
    const t = loadTemplateFile(file)
    const found = `${t.namespace}/${t.name}@${t.version} with ${t.steps.length} steps`
    if (t.namespace !== expected.namespace || t.name !== expected.name || t.version !== expected.version || t.steps.length !== expected.steps) {
      throw new Error(
        `${file}: the dataset's ${shape} shape expects ${expected.namespace}/${expected.name}@${expected.version} with ${expected.steps} steps, ` +
          `found ${found}; update SHAPE_TEMPLATES in harness/bench/dataset/shapes.ts together with the template`,
      )
    }
    // loadTemplateFile returns the steps in a topological order already.
    const position = new Map(t.steps.map((s, i) => [s.name, i]))
    const steps: ShapeStep[] = t.steps.map((s, i) => ({
      name: s.name,
      position: i,
      parents: s.dependencies.map((d) => position.get(d)!).sort((a, b) => a - b),
      retryable: s.retry.retryable,
      maxAttempts: s.retry.maxAttempts,
    }))
    const configuration = {
      name: t.name,
      namespace_name: t.namespace,
      version: t.version,
      description: t.description,
      steps: t.steps.map((s) => ({
        name: s.name,
        handler: s.handler,
        dependencies: s.dependencies,
        retry: {
          retryable: s.retry.retryable,
          max_attempts: s.retry.maxAttempts,
          backoff: s.retry.backoff,
          backoff_base_ms: s.retry.backoffBaseMs,
          max_backoff_ms: s.retry.maxBackoffMs,
        },
        timeout_seconds: s.timeoutSeconds,
      })),
    }
    return { shape, namespace: t.namespace, name: t.name, version: t.version, description: t.description, steps, configuration }
  })
}
