/**
 * The end-to-end bench's two ways of seeing a task finish agree: the completion event (trigger +
 * NOTIFY) and polling the API report the same tasks complete at about the same time, and a failing task is reported with its id, state and steps instead of hanging.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createTaskerClient, type TaskerClient } from '../harness/tasker/api-client.ts'
import { createEventWatcher, createPollWatcher, TaskFailedError, type CompletionWatcher } from '../harness/tasker/completion.ts'
import { createTask, taskBody, useOrchestrator } from './support/orchestrator.ts'

describe('completion detection', () => {
  const o = useOrchestrator({ workers: 2 })
  let api: TaskerClient
  let events: CompletionWatcher
  let poll: CompletionWatcher

  beforeAll(async () => {
    api = createTaskerClient(o.url)
    events = await createEventWatcher(o.db.server.url, api)
    poll = createPollWatcher(api, 20)
  })
  afterAll(async () => {
    await events?.close()
    await api?.close()
  })

  test('event and poll agree on the same tasks, at about the same time', async () => {
    for (const template of ['linear', 'diamond', 'tree', 'mixed'] as const) {
      const id = await createTask(o.url, taskBody(template))
      const [byEvent, byPoll] = await Promise.all([events.wait(id, 30_000), poll.wait(id, 30_000)])
      expect(byEvent.state).toBe('complete')
      expect((await api.getTask(id)).execution_status).toBe('all_complete')
      // Both see the same commit. Which is seen first depends on how soon this process reads the
      // notification versus the poll's response, which a loaded machine can delay by tens of ms;
      // the poll interval (20 ms) bounds how late the poll is.
      expect(Math.abs(byPoll.at - byEvent.at)).toBeLessThan(1_000)
    }
  })

  test('a task that fails for good is reported with its id, state and steps', async () => {
    const id = await createTask(o.url, taskBody('linear', { bench_fail_times: { linear_step_2: 99 } }))
    const failure = await events.wait(id, 60_000).catch((err: unknown) => err)
    expect(failure).toBeInstanceOf(TaskFailedError)
    expect(String(failure)).toMatch(new RegExp(`task ${id} .*steps \\[.*linear_step_2=error`))
  }, 90_000)
})
