/**
 * The DAG of each E2E workflow (steps and their dependencies), read from the same task templates
 * the end-to-end bench creates tasks from, so the floor and the peer execute exactly the shapes
 * the orchestrator under test executes. Plain JSON: it is handed to the worker processes.
 */
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { parse } from 'yaml'
import { loadWorkflows, type Shape, type Workflow } from '../tasker/workflows.ts'

export interface DagStep {
  name: string
  parents: string[]
  children: string[]
}

export interface Dag {
  shape: Shape
  /** in template order; every parent precedes its children (checked) */
  steps: DagStep[]
}

export const SHAPES: readonly Shape[] = ['linear', 'diamond', 'tree', 'mixed_dag']

/** The four shapes' DAGs from the templates directory (BENCH_TEMPLATES_DIR or the built-in one). */
export function loadDags(templatesDir: string): Record<Shape, Dag> {
  const workflows = loadWorkflows(templatesDir)
  const dags: Partial<Record<Shape, Dag>> = {}
  for (const file of readdirSync(templatesDir).filter((f) => /\.ya?ml$/.test(f))) {
    const where = path.join(templatesDir, file)
    const doc = parse(readFileSync(where, 'utf8')) as { name?: string; namespace_name?: string; steps?: { name: string; dependencies?: string[] }[] }
    const workflow = (Object.values(workflows) as Workflow[]).find((w) => w.name === doc.name && w.namespace === doc.namespace_name)
    if (!workflow || dags[workflow.shape]) continue
    dags[workflow.shape] = buildDag(workflow.shape, (doc.steps ?? []).map((s) => ({ name: s.name, dependencies: s.dependencies ?? [] })), where)
  }
  return dags as Record<Shape, Dag>
}

/** Parents and children of every step; rejects unknown dependencies and cycles, naming the step. */
export function buildDag(shape: Shape, steps: { name: string; dependencies: string[] }[], where: string = shape): Dag {
  const byName = new Map<string, DagStep>()
  for (const s of steps) {
    if (byName.has(s.name)) throw new Error(`${where}: step ${s.name} is listed twice`)
    byName.set(s.name, { name: s.name, parents: [...s.dependencies], children: [] })
  }
  for (const step of byName.values()) {
    for (const parent of step.parents) {
      const p = byName.get(parent)
      if (!p) throw new Error(`${where}: step ${step.name} depends on ${parent}, which is not a step of the template`)
      p.children.push(step.name)
    }
  }
  return { shape, steps: topologicalOrder([...byName.values()], where) }
}

function topologicalOrder(steps: DagStep[], where: string): DagStep[] {
  const done = new Set<string>()
  const ordered: DagStep[] = []
  while (ordered.length < steps.length) {
    const next = steps.filter((s) => !done.has(s.name) && s.parents.every((p) => done.has(p)))
    if (next.length === 0) throw new Error(`${where}: the dependencies form a cycle (${steps.filter((s) => !done.has(s.name)).map((s) => s.name).join(', ')})`)
    for (const s of next) {
      done.add(s.name)
      ordered.push(s)
    }
  }
  return ordered
}

export const roots = (dag: Dag): DagStep[] => dag.steps.filter((s) => s.parents.length === 0)
/** steps that wait for more than one parent: they need a join counter */
export const joins = (dag: Dag): DagStep[] => dag.steps.filter((s) => s.parents.length > 1)
export const sinks = (dag: Dag): DagStep[] => dag.steps.filter((s) => s.children.length === 0)

/** The join counters a new task starts with: each join step and its number of parents. */
export function joinCounters(dag: Dag): { steps: string[]; remaining: number[] } {
  const counters = joins(dag)
  return { steps: counters.map((s) => s.name), remaining: counters.map((s) => s.parents.length) }
}

/** For a baseline that announces a task's completion from its last step: every DAG must have one. */
export function requireOneLastStep(dags: Record<Shape, Dag>, baseline: string): void {
  const several = Object.values(dags).find((d) => sinks(d).length !== 1)
  if (several) throw new Error(`${baseline}: ${several.shape} has ${sinks(several).length} last steps; the ${baseline} runs DAGs that end in one step`)
}

export function stepOf(dag: Dag, name: string): DagStep {
  const step = dag.steps.find((s) => s.name === name)
  if (!step) throw new Error(`${dag.shape}: no step named ${name}`)
  return step
}

/**
 * What every step computes, the same arithmetic as the reference handlers in spirit: a root
 * squares the task's input, a single-parent step squares its parent's value, a join multiplies
 * its parents' values; modulo a prime so every value stays an exact JSON number.
 */
export const MODULUS = 1_000_003

export function stepValue(parentValues: readonly number[], input: number): number {
  if (parentValues.length === 0) return (input * input) % MODULUS
  if (parentValues.length === 1) return (parentValues[0]! * parentValues[0]!) % MODULUS
  return parentValues.reduce((product, v) => (product * v) % MODULUS, 1)
}

/** The value a task's sinks must end with, computed without any queue (for the tests). */
export function expectedValues(dag: Dag, input: number): Record<string, number> {
  const values: Record<string, number> = {}
  for (const step of dag.steps) values[step.name] = stepValue(step.parents.map((p) => values[p]!), input)
  return values
}
