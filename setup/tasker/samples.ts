/**
 * Per-sample records kept with end-to-end results: which task each sample was (the trace
 * breakdown joins on correlation_id) and the server's own view of its duration.
 */
import type { TaskerClient } from './api-client.ts'

export interface SampleRecord {
  task_uuid: string
  correlation_id: string
  /** client-observed milliseconds, POST → completion observed */
  ms: number
  /** completed_at − created_at as the server recorded them */
  server_ms?: number
}

/** Reads each task once after the run (outside any sample), a few at a time. */
export async function serverDurations(api: TaskerClient, records: SampleRecord[], concurrency = 8): Promise<SampleRecord[]> {
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < records.length) {
        const record = records[next++]!
        const task = await api.getTask(record.task_uuid)
        if (task.completed_at) record.server_ms = Date.parse(task.completed_at) - Date.parse(task.created_at)
      }
    }),
  )
  return records
}
