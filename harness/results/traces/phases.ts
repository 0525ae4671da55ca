/**
 * Which span is which phase of a task's life. The breakdown only understands phases; this table
 * is the one place that knows span names, for two orchestrators:
 *
 * reference (orchestrator/src/telemetry/) — one span per phase, every one carrying
 * correlation_id, task_uuid, and on step phases step_uuid, step_name, worker_id:
 *   task.create          POST /v1/tasks: task, steps, edges written, root steps enqueued
 *   step.enqueue         one step's transition to `enqueued` and its message send
 *   step.claim           a worker reads the message and moves the step to in_progress
 *   step.execute         the handler itself (parents' results already loaded)
 *   step.submit_result   result stored, step → enqueued_for_orchestration, result message sent
 *   result.process       orchestration handles the result and enqueues newly ready steps
 *   task.finalize        the task is marked complete
 *
 * tasker-core (Rust, `tracing` + tracing-opentelemetry; a span's name is its function's name) —
 * read from its sources at commit c8733f95 (each rule below cites file:line): the API's
 * create_and_enqueue_task_from_request → create_task_from_request (correlation_id, task_name; no
 * task_uuid), enqueue_ready_steps (task_uuid) with one pgmq send_json_message per step (queue only),
 * the worker's worker.step_execution (correlation_id, task_uuid, step_uuid, step_name: it fires the
 * handler) and worker.step_completion_received (task_uuid, step_uuid: the handler's result is back),
 * handle_step_execution_result (step_uuid only) and finalize_task (task_uuid, correlation_id).
 * tasker-core does not carry one trace across the queue, so its spans are joined by correlation_id,
 * task_uuid and step_uuid (join.ts). No span carries a worker id. Two phases have no span at all and
 * are reported as unexplained (UNTRACED), never invented: the worker's claim and its result
 * submission.
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
  /** 'end': the span marks where the step's phase ends (its start), not a phase of its own */
  role?: 'end'
}

/**
 * Phases a flavour's traces cannot explain, and why: reported with every breakdown of that
 * flavour, instead of a number made up for them. The time they take stays inside the wait around
 * them (named here).
 */
export const UNTRACED: Record<Flavour, Partial<Record<Phase, string>>> = {
  reference: {},
  'tasker-core': {
    // tasker-worker/src/worker/step_claim.rs:253 try_claim_step has no span; the message read is
    // tasker-pgmq/src/client.rs:153 read_messages / :205 read_specific_message (queue, message_id: no step)
    'worker.claim': "not in tasker-core's traces (the claim has no span; pgmq read_messages / read_specific_message name no step); inside queue.wait",
    // tasker-worker/src/worker/services/ffi_completion/service.rs:78 send_step_result has no span; the
    // message goes out through tasker-pgmq/src/client.rs:79 send_json_message (queue only: no step)
    'worker.submit': "not in tasker-core's traces (the result is sent by pgmq send_json_message, which names no step); inside result.wait",
  },
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
  // tasker-core at c8733f95 (paths under crates/)
  // tasker-orchestration/src/orchestration/lifecycle/task_initialization/service.rs:273 (the API's entry, task_service.rs:179)
  { name: 'create_and_enqueue_task_from_request', phase: 'task.create', flavour: 'tasker-core' },
  // tasker-orchestration/src/orchestration/lifecycle/task_initialization/service.rs:65 (inside the one above)
  { name: 'create_task_from_request', phase: 'task.create', flavour: 'tasker-core' },
  // tasker-orchestration/src/orchestration/lifecycle/step_enqueuer.rs:122 (task_uuid; a batch: every ready step)
  { name: 'enqueue_ready_steps', phase: 'step.enqueue', flavour: 'tasker-core' },
  // tasker-worker/src/worker/services/step_execution/service.rs:320, events at :331 and :349
  { name: 'worker.step_execution', phase: 'worker.execute', flavour: 'tasker-core' },
  // tasker-worker/src/worker/event_subscriber.rs:242 and :253: the handler's completion arrives
  { name: 'worker.step_completion_received', phase: 'worker.execute', flavour: 'tasker-core', role: 'end' },
  // tasker-orchestration/src/orchestration/lifecycle/result_processing/service.rs:120 (step_uuid only; result_processor_actor.rs:117)
  { name: 'handle_step_execution_result', phase: 'result.process', flavour: 'tasker-core' },
  // tasker-orchestration/src/orchestration/lifecycle/result_processing/service.rs:93 (step_uuid, correlation_id; step_result_processor.rs:261)
  { name: 'handle_step_result_with_metadata', phase: 'result.process', flavour: 'tasker-core' },
  // tasker-orchestration/src/orchestration/lifecycle/task_finalization/service.rs:66 (correlation_id recorded at :85)
  { name: 'finalize_task', phase: 'task.finalize', flavour: 'tasker-core' },
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
  /** see PhaseRule.role */
  role: 'end' | undefined
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
      role: rule.role,
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
