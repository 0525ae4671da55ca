/**
 * POST /v1/tasks answers with a view built from the template (createdTaskView) instead of reading
 * it back. For every shipped template, that view must equal what GET /v1/tasks/{uuid} reads from
 * the database (getTaskViews: get_task_execution_context plus the readiness rows) for the task
 * as created — nothing runs the steps here, so the task stays in that state.
 */
import { describe, expect, it } from 'vitest'
import { createLogger, createTask, DISABLED_TELEMETRY, getTaskViews, KNOWN_CALLABLES, loadTemplates, registerTemplates, StepEnqueuer, TemplateRegistry } from '../orchestrator/index.ts'
import { migrateTasker, usePostgres } from './support/postgres.ts'

const db = usePostgres(migrateTasker)

/** JSON as the API sends it: dates as strings, key order irrelevant. */
const asJson = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown

describe('the view POST /v1/tasks answers with', () => {
  it('equals the view read back from the database, for every shipped template', async () => {
    const registry = new TemplateRegistry(loadTemplates(undefined, KNOWN_CALLABLES))
    const registered = await registerTemplates(db.pool, registry)
    const log = createLogger('test', 'error')
    const deps = { pool: db.pool, registered, enqueuer: new StepEnqueuer(db.pool, DISABLED_TELEMETRY, log), telemetry: DISABLED_TELEMETRY }
    expect(registry.templates.length).toBeGreaterThanOrEqual(4)
    for (const t of registry.templates) {
      const result = await createTask(
        deps,
        {
          name: t.name,
          namespace: t.namespace,
          version: t.version,
          context: { even_number: 6, nested: { b: 1, a: [2, 3] }, _run: t.name },
          initiator: 'test',
          source_system: 'created-task-view.test',
          reason: 'compare views',
          tags: ['x', 'y'],
          priority: 7,
          correlation_id: undefined,
          parent_correlation_id: null,
          idempotency_key: undefined,
          options: undefined,
        },
        undefined,
      )
      if (result.kind !== 'created') throw new Error(`creating ${t.name}: ${result.kind}`)
      const [stored] = await getTaskViews(db.pool, [result.view.task_uuid])
      expect(asJson(result.view), `${t.namespace}/${t.name}`).toEqual(asJson(stored))
    }
  })
})
