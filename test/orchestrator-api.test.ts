/**
 * The reference orchestrator's REST API against a real PostgreSQL: health, create / get / list,
 * every client mistake with its status and error code, and the template loader's errors.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, onTestFinished, test } from 'vitest'
import { KNOWN_CALLABLES, loadTemplates } from '../orchestrator/index.ts'
import { checkOrchestrator } from '../harness/main/orchestrator/external.ts'
import { startEmbeddedOrchestrator } from '../harness/main/orchestrator/embedded.ts'
import { freePort } from '../harness/main/net/free-port.ts'
import type { TaskRequest } from '../harness/tasker/api-client.ts'
import { createTask, getJson, postJson, taskBody, useOrchestrator, waitForTasks } from './support/orchestrator.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe('REST API', () => {
  const o = useOrchestrator({ workers: 1 })

  test('GET /health answers healthy with a timestamp', async () => {
    const res = await getJson(`${o.url}/health`)
    expect(res.status).toBe(200)
    expect(res.body.status).toBe('healthy')
    expect(Number.isNaN(Date.parse(res.body.timestamp))).toBe(false)
  })

  test('POST /v1/tasks creates the task with its steps and returns the task view', async () => {
    const body = taskBody('diamond', { even_number: 8 })
    const res = await postJson(`${o.url}/v1/tasks`, { ...body, tags: ['a', 'b'], priority: 5 })
    expect(res.status).toBe(201)
    const v = res.body
    expect(v.task_uuid).toMatch(UUID)
    expect(v.correlation_id).toMatch(UUID)
    expect(v).toMatchObject({ name: 'diamond_pattern', namespace: 'diamond_workflow', version: '1.0.0', priority: 5, tags: ['a', 'b'], initiator: 'test', source_system: 'vitest', reason: 'integration test', total_steps: 4, parent_correlation_id: null })
    expect(v.context).toEqual(body.context)
    for (const key of ['created_at', 'updated_at', 'completed_at', 'status', 'pending_steps', 'in_progress_steps', 'completed_steps', 'failed_steps', 'ready_steps', 'execution_status', 'recommended_action', 'completion_percentage', 'health_status']) {
      expect(v, key).toHaveProperty(key)
    }
    expect(v.steps.map((s: { name: string }) => s.name).sort()).toEqual(['diamond_branch_b', 'diamond_branch_c', 'diamond_end', 'diamond_start'])
    const start = v.steps.find((s: { name: string }) => s.name === 'diamond_start')
    expect(start).toMatchObject({ total_parents: 0, dependencies_satisfied: true, max_attempts: 3 })
    expect(v.steps.find((s: { name: string }) => s.name === 'diamond_end')).toMatchObject({ total_parents: 2 })
  })

  test('GET /v1/tasks/{uuid} returns the view and reaches all_complete', async () => {
    const correlation = '01890a5d-ac96-774b-bcce-b302099a8057'
    const id = await createTask(o.url, { ...taskBody('linear'), correlation_id: correlation })
    await waitForTasks(o.db, [id])
    const res = await getJson(`${o.url}/v1/tasks/${id}`)
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ task_uuid: id, correlation_id: correlation, status: 'complete', execution_status: 'all_complete', completion_percentage: 100, completed_steps: 3, health_status: 'healthy' })
    expect(res.body.completed_at).not.toBeNull()
    expect(res.body.steps.every((s: { current_state: string }) => s.current_state === 'complete')).toBe(true)
  })

  test('GET /v1/tasks pages, filters by namespace and status', async () => {
    const ids = []
    for (let i = 0; i < 5; i++) ids.push(await createTask(o.url, taskBody('tree')))
    await waitForTasks(o.db, ids)
    const page2 = await getJson(`${o.url}/v1/tasks?namespace=tree_workflow&per_page=2&page=2`)
    expect(page2.status).toBe(200)
    expect(page2.body.pagination).toEqual({ page: 2, per_page: 2, total_count: 5, total_pages: 3, has_next: true, has_previous: true })
    expect(page2.body.tasks).toHaveLength(2)
    // Newest first: page 2 holds the 3rd and 4th newest.
    expect(page2.body.tasks.map((t: { task_uuid: string }) => t.task_uuid)).toEqual([ids[2], ids[1]])
    expect(page2.body.tasks[0].steps).toHaveLength(8)

    const last = await getJson(`${o.url}/v1/tasks?namespace=tree_workflow&per_page=2&page=3`)
    expect(last.body.pagination).toMatchObject({ has_next: false, has_previous: true })
    expect(last.body.tasks).toHaveLength(1)

    const complete = await getJson(`${o.url}/v1/tasks?namespace=tree_workflow&status=complete`)
    expect(complete.body.pagination.total_count).toBe(5)
    const none = await getJson(`${o.url}/v1/tasks?namespace=tree_workflow&status=error`)
    expect(none.body).toEqual({ tasks: [], pagination: { page: 1, per_page: 25, total_count: 0, total_pages: 0, has_next: false, has_previous: false } })
  })

  test.each([
    ['page=0', 'page'],
    ['per_page=101', 'per_page'],
    ['per_page=abc', 'per_page'],
    ['status=finished', 'status'],
  ])('GET /v1/tasks?%s → 400 naming %s', async (query, field) => {
    const res = await getJson(`${o.url}/v1/tasks?${query}`)
    expect(res.status).toBe(400)
    expect(res.body.error.code).toBe('BAD_REQUEST')
    expect(res.body.error.message).toContain(`'${field}'`)
  })

  test('invalid JSON → 400 JSON_ERROR', async () => {
    const res = await postJson(`${o.url}/v1/tasks`, '{"name": ')
    expect(res.status).toBe(400)
    expect(res.body.error.code).toBe('JSON_ERROR')
  })

  test.each([
    ['name', (b: TaskRequest) => ({ ...b, name: undefined })],
    ['namespace', (b: TaskRequest) => ({ ...b, namespace: 7 })],
    ['reason', (b: TaskRequest) => ({ ...b, reason: 'x'.repeat(501) })],
    ['context', (b: TaskRequest) => ({ ...b, context: 'not an object' })],
    ['priority', (b: TaskRequest) => ({ ...b, priority: -101 })],
    ['correlation_id', (b: TaskRequest) => ({ ...b, correlation_id: 'abc' })],
  ])('missing or invalid %s → 400 BAD_REQUEST naming it', async (field, mutate) => {
    const res = await postJson(`${o.url}/v1/tasks`, mutate(taskBody('linear')))
    expect(res.status).toBe(400)
    expect(res.body.error.code).toBe('BAD_REQUEST')
    expect(res.body.error.message).toContain(`'${field}'`)
  })

  test('a body that is not an object → 400 BAD_REQUEST', async () => {
    const res = await postJson(`${o.url}/v1/tasks`, '[1, 2]')
    expect(res.status).toBe(400)
    expect(res.body.error.code).toBe('BAD_REQUEST')
  })

  test('an unknown template → 404 NOT_FOUND', async () => {
    const res = await postJson(`${o.url}/v1/tasks`, { ...taskBody('linear'), version: '9.9.9' })
    expect(res.status).toBe(404)
    expect(res.body.error.code).toBe('NOT_FOUND')
    expect(res.body.error.message).toContain('linear_workflow/mathematical_sequence@9.9.9')
  })

  test('the same named task and context twice → 409 CONFLICT, and nothing is sent; another context is fine', async () => {
    const body = taskBody('linear')
    const first = await postJson(`${o.url}/v1/tasks`, body)
    expect(first.status).toBe(201)
    await waitForTasks(o.db, [first.body.task_uuid])
    const sent = `SELECT (SELECT count(*) FROM pgmq.q_worker_linear_workflow_queue) + (SELECT count(*) FROM pgmq.a_worker_linear_workflow_queue) AS n`
    const before = (await o.db.pool.query<{ n: string }>(sent)).rows[0]!.n
    const again = await postJson(`${o.url}/v1/tasks`, { ...body, reason: 'a different reason' })
    expect(again.status).toBe(409)
    expect(again.body.error.code).toBe('CONFLICT')
    expect((await o.db.pool.query<{ n: string }>(sent)).rows[0]!.n).toBe(before)
    const other = await postJson(`${o.url}/v1/tasks`, { ...body, context: { ...body.context, extra: 1 } })
    expect(other.status).toBe(201)
  })

  test('a body over 1 MB → 413', async () => {
    const body = taskBody('linear', { padding: 'x'.repeat(1024 * 1024) })
    const res = await fetch(`${o.url}/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    expect(res.status).toBe(413)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('PAYLOAD_TOO_LARGE')
  })

  test('GET /v1/tasks/{not a uuid} → 400 INVALID_UUID; an unknown uuid → 404', async () => {
    const bad = await getJson(`${o.url}/v1/tasks/not-a-uuid`)
    expect(bad.status).toBe(400)
    expect(bad.body.error.code).toBe('INVALID_UUID')
    const missing = await getJson(`${o.url}/v1/tasks/01890a5d-ac96-774b-bcce-b302099a8057`)
    expect(missing.status).toBe(404)
    expect(missing.body.error.code).toBe('NOT_FOUND')
  })

  test('checkOrchestrator accepts a healthy service and names an unreachable one', async () => {
    await expect(checkOrchestrator(o.url)).resolves.toBeUndefined()
    const dead = `http://127.0.0.1:${await freePort()}`
    await expect(checkOrchestrator(dead)).rejects.toThrow(new RegExp(`${dead.replace(/[.:/]/g, '\\$&')} is not reachable.*TASKER_ORCHESTRATION_URL`))
  })

  test('an unknown route → 404, a wrong method → 405, both in the error shape', async () => {
    const route = await getJson(`${o.url}/v2/things`)
    expect(route.status).toBe(404)
    expect(route.body.error.code).toBe('NOT_FOUND')
    const method = await fetch(`${o.url}/v1/tasks`, { method: 'DELETE' })
    expect(method.status).toBe(405)
  })
})

describe('template loader', () => {
  const step = (name: string, deps: string[] = []) => `  - name: ${name}\n    handler: { callable: arithmetic.square }\n    dependencies: [${deps.join(', ')}]\n`
  const write = (yaml: string) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tasker-templates-'))
    writeFileSync(path.join(dir, 'broken.yaml'), yaml)
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
    return dir
  }
  const header = 'name: t\nnamespace_name: ns\nversion: "1.0.0"\nsteps:\n'

  test('the shipped templates load with the expected shapes', () => {
    const templates = loadTemplates(undefined, KNOWN_CALLABLES)
    const shape = (ns: string) => templates.find((t) => t.namespace === ns)!.steps.map((s) => `${s.name}<${s.dependencies.join(',')}`)
    expect(shape('linear_workflow')).toEqual(['linear_step_1<', 'linear_step_2<linear_step_1', 'linear_step_3<linear_step_2'])
    expect(shape('diamond_workflow')).toEqual(['diamond_start<', 'diamond_branch_b<diamond_start', 'diamond_branch_c<diamond_start', 'diamond_end<diamond_branch_b,diamond_branch_c'])
    expect(shape('tree_workflow')).toHaveLength(8)
    expect(shape('mixed_dag_workflow')).toContain('dag_finalize<dag_validate,dag_transform,dag_analyze')
  })

  test('a cycle is named', () => {
    const dir = write(header + step('a', ['c']) + step('b', ['a']) + step('c', ['b']))
    expect(() => loadTemplates(dir)).toThrow(/broken\.yaml: steps contain a dependency cycle: a → c → b → a/)
  })

  test('an unknown dependency names the step and the dependency', () => {
    const dir = write(header + step('a') + step('b', ['nope']))
    expect(() => loadTemplates(dir)).toThrow(/broken\.yaml: steps\[1\] \(b\)\.dependencies names unknown step "nope"/)
  })

  test('a duplicate step and a missing field are named', () => {
    expect(() => loadTemplates(write(header + step('a') + step('a')))).toThrow(/broken\.yaml: steps\[1\] \(a\)\.name duplicates/)
    expect(() => loadTemplates(write('name: t\nversion: "1"\nsteps:\n' + step('a')))).toThrow(/broken\.yaml: namespace_name is missing/)
    expect(() => loadTemplates(write(header + '  - name: a\n    dependencies: []\n'))).toThrow(/broken\.yaml: steps\[0\] \(a\)\.handler is missing/)
  })

  test('an unknown handler is named', () => {
    const dir = write(header + '  - name: a\n    handler: { callable: nope.nothing }\n')
    expect(() => loadTemplates(dir, KNOWN_CALLABLES)).toThrow(/steps\[0\] \(a\)\.handler\.callable "nope\.nothing" is not a known handler/)
  })
})

describe('embedded launcher', () => {
  test('a service that cannot start fails fast with its log file and the cause', async () => {
    const logDir = mkdtempSync(path.join(os.tmpdir(), 'tasker-launcher-'))
    const port = await freePort()
    const start = startEmbeddedOrchestrator({ databaseUrl: `postgres://postgres@127.0.0.1:${port}/postgres`, workers: 1, logDir })
    await expect(start).rejects.toThrow(/orchestration exited during start \(code 1\); see .*orchestration\.log:[\s\S]*startup failed: .*ECONNREFUSED/)
    rmSync(logDir, { recursive: true, force: true })
  })
})
