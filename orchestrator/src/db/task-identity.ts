/** What a task is and where it came from, as the statements that lock or evaluate a task return it; none of it changes over the task's life. */
export interface TaskIdentity {
  task_uuid: string
  correlation_id: string
  traceparent: string | null
  namespace: string
  task_name: string
  version: string
}
