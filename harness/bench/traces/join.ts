/**
 * Which spans belong to one task. The reference orchestrator puts correlation_id on every phase
 * span; tasker-core puts it on a few (task creation, finalization, the worker's step execution) and
 * names the task and its steps by task_uuid and step_uuid elsewhere (handle_step_execution_result
 * carries step_uuid only). So a task is followed from its correlation id to the task_uuids its
 * spans name, then to the step_uuids spans of those tasks name: a span belongs to the task when it
 * carries the correlation id, one of its task_uuids or one of its step_uuids — and names no other
 * task. A span with none of these keys (a database query inside a phase, a pgmq send) stays when
 * its trace holds one of the task's spans.
 */
import { correlationIdOf } from '../../results/traces/span-store.ts'
import type { NormalisedSpan } from '../../results/traces/types.ts'

export const TASK_KEYS = ['task_uuid', 'tasker.task_uuid'] as const
export const STEP_KEYS = ['step_uuid', 'workflow_step_uuid', 'tasker.step_uuid'] as const

export interface TaskKeys {
  taskUuids: Set<string>
  stepUuids: Set<string>
}

function attr(span: NormalisedSpan, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const v = span.attributes[key]
    if (typeof v === 'string' && v !== '') return v
  }
  return undefined
}

export const taskUuidOf = (span: NormalisedSpan): string | undefined => attr(span, TASK_KEYS)
export const stepUuidOf = (span: NormalisedSpan): string | undefined => attr(span, STEP_KEYS)

/** The task and step uuids reachable from the correlation id through these spans. */
export function taskKeys(correlationId: string, spans: readonly NormalisedSpan[]): TaskKeys {
  const taskUuids = new Set<string>()
  const stepUuids = new Set<string>()
  // correlation → tasks → steps; a step span names its task too, so one more pass finds nothing new
  for (const span of spans) {
    if (correlationIdOf(span) !== correlationId) continue
    const task = taskUuidOf(span)
    if (task) taskUuids.add(task)
  }
  for (const span of spans) {
    const task = taskUuidOf(span)
    const step = stepUuidOf(span)
    if (step && (correlationIdOf(span) === correlationId || (task !== undefined && taskUuids.has(task)))) stepUuids.add(step)
  }
  return { taskUuids, stepUuids }
}

/** The spans of one task, out of spans that may hold other tasks' too. */
export function joinTaskSpans(correlationId: string, spans: readonly NormalisedSpan[]): NormalisedSpan[] {
  const { taskUuids, stepUuids } = taskKeys(correlationId, spans)
  const keyed = (span: NormalisedSpan): boolean | undefined => {
    const cid = correlationIdOf(span)
    if (cid !== undefined) return cid === correlationId
    const task = taskUuidOf(span)
    if (task !== undefined) return taskUuids.has(task)
    const step = stepUuidOf(span)
    if (step !== undefined) return stepUuids.has(step)
    return undefined
  }
  // a span naming no task stays when its trace holds one of this task's spans
  const traces = new Set(spans.filter((s) => keyed(s) === true).map((s) => s.traceId))
  return spans.filter((span) => keyed(span) ?? traces.has(span.traceId))
}
