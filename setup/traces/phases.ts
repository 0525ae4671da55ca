/**
 * Which span is which phase of a task's life. The breakdown only understands phases; this table
 * is the one place that knows span names, for two orchestrators:
 *
 * reference (fixtures/orchestrator, src/telemetry/) — one span per phase, every one carrying
 * correlation_id, task_uuid, and on step phases step_uuid, step_name, worker_id:
 *   task.create          POST /v1/tasks: task, steps, edges written, root steps enqueued
 *   step.enqueue         one step's transition to `enqueued` and its message send
 *   step.claim           a worker reads the message and moves the step to in_progress
 *   step.execute         the handler itself (parents' results already loaded)
 *   step.submit_result   result stored, step → enqueued_for_orchestration, result message sent
 *   result.process       orchestration handles the result and enqueues newly ready steps
 *   task.finalize        the task is marked complete
 *
 * tasker-core (Rust, `tracing` + tracing-opentelemetry) — ASSUMED from its public sources and
 * docs, not verified against a running deployment; unknown names are ignored, and a phase with
 * no span is reported as "not traced", never as zero:
 *   worker.step_execution          the worker's step span (correlation_id, task_uuid, step_uuid,
 *                                  step_name, namespace). When it has the events
 *                                  step.execution_started / step.execution_completed, the
 *                                  handler phase is the time between them; else the whole span.
 *   handle_step_result_with_metadata, handle_step_result_message, process_step_result
 *                                  (#[instrument]ed result processing) → result.process
 *   finalize_task                  → task.finalize
 *   create_task, create_task_from_request, initialize_task → task.create
 *   enqueue_ready_steps, enqueue_steps, step.enqueuing → step.enqueue
 *   claim_step, step.claim → worker.claim; send_step_result, submit_step_result → worker.submit
 * tasker-core does not carry one trace across the queue, so its spans are joined by
 * correlation_id only; its worker claim and submission may have no span at all.
 */
import type { NormalisedSpan } from './types.ts'

export const STEP_PHASES = ['step.enqueue', 'worker.claim', 'worker.execute', 'worker.submit', 'result.process'] as const
export const TASK_PHASES = ['task.create', 'task.finalize'] as const

export type StepPhase = (typeof STEP_PHASES)[number]
export type TaskPhase = (typeof TASK_PHASES)[number]
export type Phase = StepPhase | TaskPhase

export type Flavour = 'reference' | 'tasker-core'

export interface PhaseRule {
  /** exact span name */
  name: string
  phase: Phase
  flavour: Flavour
  /** the phase is the time between these two events of the span, when both are present */
  events?: { start: string; end: string }
}

export const PHASE_RULES: readonly PhaseRule[] = [
  // reference orchestrator
  { name: 'task.create', phase: 'task.create', flavour: 'reference' },
  { name: 'step.enqueue', phase: 'step.enqueue', flavour: 'reference' },
  { name: 'step.claim', phase: 'worker.claim', flavour: 'reference' },
  { name: 'step.execute', phase: 'worker.execute', flavour: 'reference' },
  { name: 'step.submit_result', phase: 'worker.submit', flavour: 'reference' },
  { name: 'result.process', phase: 'result.process', flavour: 'reference' },
  { name: 'task.finalize', phase: 'task.finalize', flavour: 'reference' },
  // tasker-core (assumed, see above)
  { name: 'worker.step_execution', phase: 'worker.execute', flavour: 'tasker-core', events: { start: 'step.execution_started', end: 'step.execution_completed' } },
  { name: 'handle_step_result_with_metadata', phase: 'result.process', flavour: 'tasker-core' },
  { name: 'handle_step_result_message', phase: 'result.process', flavour: 'tasker-core' },
  { name: 'process_step_result', phase: 'result.process', flavour: 'tasker-core' },
  { name: 'finalize_task', phase: 'task.finalize', flavour: 'tasker-core' },
  { name: 'create_task', phase: 'task.create', flavour: 'tasker-core' },
  { name: 'create_task_from_request', phase: 'task.create', flavour: 'tasker-core' },
  { name: 'initialize_task', phase: 'task.create', flavour: 'tasker-core' },
  { name: 'enqueue_ready_steps', phase: 'step.enqueue', flavour: 'tasker-core' },
  { name: 'enqueue_steps', phase: 'step.enqueue', flavour: 'tasker-core' },
  { name: 'step.enqueuing', phase: 'step.enqueue', flavour: 'tasker-core' },
  { name: 'claim_step', phase: 'worker.claim', flavour: 'tasker-core' },
  { name: 'send_step_result', phase: 'worker.submit', flavour: 'tasker-core' },
  { name: 'submit_step_result', phase: 'worker.submit', flavour: 'tasker-core' },
]

/** A span recognised as a phase, with the interval that phase covers. */
export interface PhaseSpan {
  phase: Phase
  flavour: Flavour
  span: NormalisedSpan
  startMs: number
  endMs: number
  /** step phases: which step (step_uuid, else step_name); undefined for a task-wide span */
  step: string | undefined
  stepName: string | undefined
  worker: string | undefined
}

const STEP_KEYS = ['step_uuid', 'workflow_step_uuid', 'tasker.step_uuid'] as const
const WORKER_KEYS = ['worker_id', 'tasker.worker_id', 'worker.id'] as const

export function classifySpans(spans: readonly NormalisedSpan[], rules: readonly PhaseRule[] = PHASE_RULES): PhaseSpan[] {
  const byName = new Map<string, PhaseRule>()
  for (const rule of rules) if (!byName.has(rule.name)) byName.set(rule.name, rule)
  const out: PhaseSpan[] = []
  for (const span of spans) {
    const rule = byName.get(span.name)
    if (!rule) continue
    let startMs = span.startMs
    let endMs = span.endMs
    if (rule.events) {
      const start = span.events.find((e) => e.name === rule.events!.start)
      const end = span.events.find((e) => e.name === rule.events!.end)
      if (start && end && end.timeMs >= start.timeMs) {
        startMs = start.timeMs
        endMs = end.timeMs
      }
    }
    const stepName = stringAttr(span, ['step_name'])
    out.push({
      phase: rule.phase,
      flavour: rule.flavour,
      span,
      startMs,
      endMs,
      step: stringAttr(span, STEP_KEYS) ?? stepName,
      stepName,
      worker: stringAttr(span, WORKER_KEYS) ?? resourceString(span, WORKER_KEYS) ?? resourceString(span, ['service.instance.id']),
    })
  }
  return out
}

function stringAttr(span: NormalisedSpan, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const v = span.attributes[key]
    if (typeof v === 'string' && v !== '') return v
  }
  return undefined
}

function resourceString(span: NormalisedSpan, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const v = span.resource[key]
    if (typeof v === 'string' && v !== '') return v
  }
  return undefined
}
