/** The reference orchestrator's pure parts: handlers, bench knobs, planning, backoff, validation. */
import { performance } from 'node:perf_hooks'
import { describe, expect, test } from 'vitest'
import { applyBenchKnobs, BENCH_KNOB_LIMITS, benchKnobProblem, backoffSeconds, BatchPipeline, canonicalJson, DEFAULT_RETRY, identityHash, isUuid, MODULUS, multiplyParents, notifiedMsgIds, planTaskTransitions, QueueDrainer, readBenchKnobs, runHandler, square, StepError, type StepInput, type StepState, TaskLocks, uuidv7, validateTaskRequest } from '../orchestrator/index.ts'

const input = (over: Partial<StepInput>): StepInput => ({
  taskUuid: 't', stepUuid: 's', stepName: 'x', namespace: 'n', context: {}, parents: {}, attempt: 1, initialization: {}, ...over,
})

describe('arithmetic handlers', () => {
  test('a root squares even_number, a step squares its parent, a join multiplies its parents', () => {
    expect(square(input({ context: { even_number: 6 } })).result).toBe(36)
    expect(square(input({ parents: { a: { result: 36 } } })).result).toBe(1296)
    expect(multiplyParents(input({ parents: { b: { result: 1296 }, c: { result: 1296 } } })).result).toBe(1679616)
  })

  test('results stay below the modulus and exact', () => {
    const big = Number(MODULUS - 1n)
    const r = square(input({ parents: { a: { result: big } } })).result
    expect(r).toBe(Number(((MODULUS - 1n) * (MODULUS - 1n)) % MODULUS))
    expect(Number.isSafeInteger(r)).toBe(true)
  })

  test('a non-integer even_number fails without retries', () => {
    expect(() => square(input({ context: { even_number: 'six' } }))).toThrow(StepError)
    try {
      square(input({ context: { even_number: 1.5 } }))
    } catch (err) {
      expect((err as StepError).retryable).toBe(false)
    }
  })
})

describe('bench knobs', () => {
  test('apply to every step or per step name', () => {
    expect(readBenchKnobs({ bench_sleep_ms: 5 }, 'a').sleepMs).toBe(5)
    expect(readBenchKnobs({ bench_sleep_ms: { a: 7 } }, 'a').sleepMs).toBe(7)
    expect(readBenchKnobs({ bench_sleep_ms: { a: 7 } }, 'b').sleepMs).toBe(0)
    expect(readBenchKnobs({ bench_fail_times: { b: 2 } }, 'b').failTimes).toBe(2)
  })

  test('a malformed knob names itself', () => {
    expect(() => readBenchKnobs({ bench_cpu_work: 'lots' }, 'a')).toThrow(/bench_cpu_work/)
  })

  test('each knob is bounded: its limit passes, beyond it the problem names the field and the limit', () => {
    for (const [key, { max }] of Object.entries(BENCH_KNOB_LIMITS)) {
      expect(benchKnobProblem({ [key]: max }), key).toBeUndefined()
      expect(benchKnobProblem({ [key]: { a: max, b: 0 } }), key).toBeUndefined()
      const over = benchKnobProblem({ [key]: max * 2 })
      expect(over?.field).toBe(`context.${key}`)
      expect(over?.message).toContain(`from 0 to ${max}`)
      expect(benchKnobProblem({ [key]: { a: 1, linear_step_1: max + 1 } })?.field).toBe(`context.${key}.linear_step_1`)
      for (const bad of [-1, 'lots', [1], true, { a: 'x' }]) expect(benchKnobProblem({ [key]: bad }), `${key}=${JSON.stringify(bad)}`).toBeDefined()
    }
    expect(BENCH_KNOB_LIMITS.bench_cpu_work.max).toBeLessThanOrEqual(1e10)
    // the request of issue 21 §3, 2.5e9 iterations, is within the limit: the step timeout stops it
    expect(benchKnobProblem({ bench_cpu_work: { linear_step_1: 2_500_000_000 } })).toBeUndefined()
    expect(benchKnobProblem({ bench_cpu_work: 1.5 })?.message).toContain('whole number')
    expect(benchKnobProblem({ bench_sleep_ms: 1.5, other: 'anything', bench_cpu_work: null })).toBeUndefined()
  })

  test('the worker refuses an out-of-range knob without retries, should one reach it', () => {
    for (const context of [{ bench_cpu_work: { a: 1e11 } }, { bench_sleep_ms: 1e9 }, { bench_fail_times: 1e6 }]) {
      try {
        readBenchKnobs(context, 'a')
        expect.unreachable(JSON.stringify(context))
      } catch (err) {
        expect(err).toBeInstanceOf(StepError)
        expect((err as StepError).retryable).toBe(false)
        expect((err as StepError).message).toMatch(/'context\.bench_[\w.]+' must be .* from 0 to \d+/)
      }
    }
  })

  test('CPU work stops at the step timeout and yields meanwhile: timers fire, the loop is free after', async () => {
    // 5·10^9 iterations: seconds of one core on any machine, far beyond the 0.3 s timeout.
    const ticks: number[] = []
    const interval = setInterval(() => ticks.push(performance.now()), 25)
    const started = performance.now()
    const outcome = await runHandler(() => 'done', input({ stepName: 'a', context: { bench_cpu_work: { a: 5_000_000_000 } } }), 0.3)
    const elapsed = performance.now() - started
    clearInterval(interval)
    expect(outcome).toEqual({ ok: false, error: { name: 'StepError', retryable: true, message: 'handler timed out after 0.3 s' } })
    // generous for a loaded machine, yet far below the work's own length
    expect(elapsed).toBeGreaterThanOrEqual(290)
    expect(elapsed).toBeLessThan(3000)
    // a heartbeat every 25 ms kept firing while the work ran (a blocked loop gives none)
    expect(ticks.filter((t) => t < started + elapsed).length).toBeGreaterThanOrEqual(3)
    // and the work stopped with the timeout: the event loop is idle afterwards
    const before = performance.eventLoopUtilization()
    await new Promise((r) => setTimeout(r, 300))
    expect(performance.eventLoopUtilization(before).utilization).toBeLessThan(0.5)
  }, 30_000)

  test('a sleep knob stops at the step timeout: the handler does not run after it', async () => {
    let ran = false
    const outcome = await runHandler(() => (ran = true), input({ context: { bench_sleep_ms: 600 } }), 0.2)
    expect(outcome.ok).toBe(false)
    expect(!outcome.ok && outcome.error.message).toBe('handler timed out after 0.2 s')
    await new Promise((r) => setTimeout(r, 900))
    expect(ran).toBe(false)
  })

  test('bench_fail_times fails the first n attempts only', async () => {
    const knobs = readBenchKnobs({ bench_fail_times: { a: 2 } }, 'a')
    await expect(applyBenchKnobs(knobs, 1, 'a')).rejects.toThrow(/attempt 1/)
    await expect(applyBenchKnobs(knobs, 2, 'a')).rejects.toThrow(/attempt 2/)
    await expect(applyBenchKnobs(knobs, 3, 'a')).resolves.toBeUndefined()
  })
})

const step = (uuid: string, state: string): StepState => ({ uuid, name: uuid, state })
const none = new Set<string>()

describe('planTaskTransitions', () => {
  test('a task whose steps keep flowing stays in steps_in_process without transitions', () => {
    const plan = planTaskTransitions('steps_in_process', [step('a', 'complete'), step('b', 'pending')], new Set(['b']), true)
    expect(plan).toEqual({ chain: [], outcome: 'steps_in_process' })
  })

  test('the last completed step finalizes the task through evaluating_results', () => {
    const plan = planTaskTransitions('steps_in_process', [step('a', 'complete'), step('b', 'complete')], none, true)
    expect(plan.chain).toEqual([
      ['steps_in_process', 'evaluating_results'],
      ['evaluating_results', 'complete'],
    ])
  })

  test('a failed step blocks the task once nothing is in flight', () => {
    expect(planTaskTransitions('steps_in_process', [step('a', 'error'), step('b', 'in_progress'), step('c', 'pending')], none, true).outcome).toBe('steps_in_process')
    const blocked = planTaskTransitions('steps_in_process', [step('a', 'error'), step('b', 'complete'), step('c', 'pending')], none, true)
    expect(blocked.chain.at(-1)).toEqual(['evaluating_results', 'blocked_by_failures'])
  })

  test('a step waiting for its retry with nothing else in flight parks the task in waiting_for_retry', () => {
    const plan = planTaskTransitions('steps_in_process', [step('a', 'complete'), step('b', 'waiting_for_retry')], none, true)
    expect(plan.chain.at(-1)).toEqual(['evaluating_results', 'waiting_for_retry'])
  })

  test('a retry sweep with nothing due changes nothing', () => {
    expect(planTaskTransitions('waiting_for_retry', [step('a', 'waiting_for_retry')], none, false).chain).toEqual([])
  })

  test('a due retry moves the task back through enqueuing_steps', () => {
    const plan = planTaskTransitions('waiting_for_retry', [step('a', 'waiting_for_retry')], new Set(['a']), false)
    expect(plan.chain).toEqual([
      ['waiting_for_retry', 'enqueuing_steps'],
      ['enqueuing_steps', 'steps_in_process'],
    ])
  })

  test('a settled task is left alone', () => {
    expect(planTaskTransitions('complete', [step('a', 'complete')], none, true).chain).toEqual([])
  })
})

describe('retry backoff', () => {
  test('exponential doubles per attempt up to the maximum, in whole seconds', () => {
    const p = { ...DEFAULT_RETRY, backoff: 'exponential' as const, backoffBaseMs: 1000, maxBackoffMs: 5000 }
    expect([1, 2, 3, 4].map((a) => backoffSeconds(p, a))).toEqual([1, 2, 4, 5])
    expect(backoffSeconds({ ...p, backoff: 'none' }, 3)).toBe(0)
    expect(backoffSeconds({ ...p, backoff: 'linear', backoffBaseMs: 300 }, 2)).toBe(1)
  })
})

describe('task request validation', () => {
  const valid = { name: 'n', namespace: 'ns', version: '1.0.0', context: {}, initiator: 'i', source_system: 's', reason: 'r' }

  test('accepts a minimal request and fills defaults', () => {
    const v = validateTaskRequest(valid)
    expect(v.ok && v.value.priority).toBe(0)
    expect(v.ok && v.value.tags).toEqual([])
  })

  test.each([
    ['name', { ...valid, name: undefined }],
    ['version', { ...valid, version: 'x'.repeat(51) }],
    ['reason', { ...valid, reason: '' }],
    ['context', { ...valid, context: [1] }],
    ['priority', { ...valid, priority: 101 }],
    ['priority', { ...valid, priority: 1.5 }],
    ['tags', { ...valid, tags: [1] }],
    ['correlation_id', { ...valid, correlation_id: 'nope' }],
  ])('names %s when it is wrong', (field, body) => {
    const v = validateTaskRequest(body)
    expect(v.ok).toBe(false)
    if (!v.ok) {
      expect(v.field).toBe(field)
      expect(v.message).toContain(`'${field}'`)
    }
  })

  test.each([
    ['reason', { ...valid, reason: 'a\u0000b' }, 'U+0000'],
    ['name', { ...valid, name: '\u0000' }, 'U+0000'],
    ['initiator', { ...valid, initiator: 'x\ud800' }, 'surrogate'],
    ['tags[1]', { ...valid, tags: ['ok', 'bad\u0000'] }, 'U+0000'],
    ['context', { ...valid, context: { 'k\u0000': 1 } }, 'U+0000'],
    ['context.a[1].b', { ...valid, context: { a: [1, { b: 'x\u0000' }] } }, 'U+0000'],
    ['context.a', { ...valid, context: { a: '\ud800' } }, 'surrogate'],
    ['context.a', { ...valid, context: { a: 'x\udc00y' } }, 'surrogate'],
    ['context.a', { ...valid, context: { a: { '\udfff': 1 } } }, 'surrogate'],
    ['context["odd key"][0]', { ...valid, context: { 'odd key': ['\ud83d'] } }, 'surrogate'],
  ])('rejects text PostgreSQL cannot store, naming %s', (field, body, what) => {
    const v = validateTaskRequest(body)
    expect(v.ok).toBe(false)
    if (!v.ok) {
      expect(v.field).toBe(field)
      expect(v.message).toContain(`field '${field}'`)
      expect(v.message).toContain(what)
    }
  })

  test('accepts what PostgreSQL stores: surrogate pairs, accents, escapes other than NUL', () => {
    const v = validateTaskRequest({ ...valid, reason: 'caf\u00e9 \ud83d\ude00', tags: ['\u0001', '\u00e0'], context: { '\ud83d\ude00': ['\t\u001f', { x: '\ud83d\ude00' }] } })
    expect(v.ok).toBe(true)
  })

  test('an out-of-range bench knob is the client\'s mistake, named with its limit', () => {
    const v = validateTaskRequest({ ...valid, context: { bench_cpu_work: { linear_step_1: 25_000_000_000 } } })
    expect(v).toEqual({ ok: false, field: 'context.bench_cpu_work.linear_step_1', message: expect.stringContaining(`from 0 to ${BENCH_KNOB_LIMITS.bench_cpu_work.max}`) })
    expect(validateTaskRequest({ ...valid, context: { bench_sleep_ms: { a: 20 }, bench_fail_times: 2 } }).ok).toBe(true)
  })

  test('a body that is not an object is rejected', () => {
    expect(validateTaskRequest([valid]).ok).toBe(false)
    expect(validateTaskRequest(null).ok).toBe(false)
  })
})

describe('identity and ids', () => {
  test('identity ignores key order and tells contexts apart', () => {
    expect(canonicalJson({ b: 1, a: { d: 2, c: 3 } })).toBe('{"a":{"c":3,"d":2},"b":1}')
    expect(identityHash('x', { a: 1, b: 2 })).toBe(identityHash('x', { b: 2, a: 1 }))
    expect(identityHash('x', { a: 1 })).not.toBe(identityHash('x', { a: 2 }))
    expect(identityHash('x', { a: 1 })).not.toBe(identityHash('y', { a: 1 }))
  })

  test('uuidv7 ids are valid, version 7 and increasing', () => {
    const ids = Array.from({ length: 1000 }, () => uuidv7())
    expect(ids.every(isUuid)).toBe(true)
    expect(ids.every((id) => id[14] === '7')).toBe(true)
    expect([...ids].sort()).toEqual(ids)
    expect(new Set(ids).size).toBe(ids.length)
  })
})

describe('TaskLocks', () => {
  test('holders of one key run one after another; other keys do not wait', async () => {
    const locks = new TaskLocks()
    const log: string[] = []
    let releaseFirst!: () => void
    const first = locks.withLocks(['a', 'b'], async () => {
      log.push('first start')
      await new Promise<void>((r) => (releaseFirst = r))
      log.push('first end')
    })
    const second = locks.withLocks(['b'], async () => {
      log.push('second')
    })
    const other = locks.withLocks(['c'], async () => {
      log.push('other')
    })
    await other
    expect(log).toEqual(['first start', 'other'])
    releaseFirst()
    await Promise.all([first, second])
    expect(log).toEqual(['first start', 'other', 'first end', 'second'])
  })

  test('a holder that throws releases its keys', async () => {
    const locks = new TaskLocks()
    await expect(locks.withLocks(['a'], async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
    await expect(locks.withLocks(['a'], async () => 'next')).resolves.toBe('next')
  })
})

describe('BatchPipeline', () => {
  test('batches what accumulated while busy and never takes a message twice', async () => {
    const batches: string[][] = []
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    let secondBatch!: () => void
    const second = new Promise<void>((r) => (secondBatch = r))
    const pipeline = new BatchPipeline<string>({
      maxBatch: 10,
      concurrency: 1,
      read: async () => [],
      handle: async (batch) => {
        batches.push(batch)
        if (batches.length === 1) await gate
        else secondBatch()
      },
      key: (m) => m,
      onError: (err) => {
        throw err
      },
    })
    pipeline.offer('a')
    pipeline.offer('b')
    pipeline.offer('c')
    pipeline.offer('b')
    release()
    await second
    await pipeline.stop()
    expect(batches).toEqual([['a'], ['b', 'c']])
  })

  test('an offered copy of a message read (leased) here is dropped; stop() hands back the leased copies it did not handle', async () => {
    // 'x@1': message x read from the queue (leased); 'x@0': x offered by a notification.
    const batches: string[][] = []
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const source: string[][] = []
    let readDone!: () => void
    let reads = new Promise<void>((r) => (readDone = r))
    const pipeline = new BatchPipeline<string>({
      maxBatch: 10,
      concurrency: 1,
      read: async () => {
        const next = source.shift() ?? []
        setImmediate(readDone)
        return next
      },
      handle: async (batch) => {
        batches.push(batch)
        if (batches.length === 1) await gate
      },
      key: (m) => m.split('@')[0]!,
      leases: (m) => m.endsWith('@1'),
      onError: (err) => {
        throw err
      },
    })
    pipeline.offer('a@0') // handled at once, held at the gate
    pipeline.offer('b@0') // buffered
    source.push(['a@1', 'b@1'])
    pipeline.trigger()
    await reads
    pipeline.offer('a@0') // a leased copy is buffered: dropped
    pipeline.offer('b@0') // likewise
    reads = new Promise<void>((r) => (readDone = r))
    source.push(['c@1'])
    pipeline.trigger()
    await reads
    pipeline.offer('d@0') // buffered at stop: an offered copy holds nothing
    const stopped = pipeline.stop()
    release()
    // Buffered when stop() came: the leased copies are handed back (their leases to release).
    expect(await stopped).toEqual(['a@1', 'b@1', 'c@1'])
    expect(batches).toEqual([['a@0']])
  })

  test('the leased copies are handled after an offered copy of the same message', async () => {
    const batches: string[][] = []
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    let done!: () => void
    const second = new Promise<void>((r) => (done = r))
    let readOnce = false
    const pipeline = new BatchPipeline<string>({
      maxBatch: 10,
      concurrency: 1,
      read: async () => (readOnce ? [] : ((readOnce = true), ['a@1', 'b@1'])),
      handle: async (batch) => {
        batches.push(batch)
        if (batches.length === 1) await gate
        else done()
      },
      key: (m) => m.split('@')[0]!,
      leases: (m) => m.endsWith('@1'),
      onError: (err) => {
        throw err
      },
    })
    pipeline.offer('a@0')
    pipeline.offer('b@0')
    pipeline.trigger()
    await new Promise((r) => setTimeout(r, 10))
    release()
    await second
    await pipeline.stop()
    // a@0 was being handled: a@1 joins the next batch; b@0 was buffered: b@1 took its place.
    expect(batches).toEqual([['a@0'], ['a@1', 'b@1']])
  })
})

describe('QueueDrainer', () => {
  test('a trigger that finds no free slot reads again as soon as one frees up', async () => {
    const source = ['a']
    const handled: string[] = []
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    let done!: () => void
    const allDone = new Promise<void>((r) => (done = r))
    const drainer = new QueueDrainer<string>({
      concurrency: 1,
      read: async (max) => source.splice(0, max),
      readIds: async () => [],
      handle: async (m) => {
        handled.push(m)
        if (m === 'a') await gate
        if (m === 'b') done()
      },
      key: (m) => m,
      onError: (err) => {
        throw err
      },
    })
    drainer.trigger()
    await new Promise((r) => setImmediate(r))
    source.push('b')
    drainer.trigger() // no free slot: remembered
    release()
    await allDone
    await drainer.stop()
    expect(handled).toEqual(['a', 'b'])
  })

  test('named messages are claimed by id, not by a read of the queue; a trigger still reads', async () => {
    const reads: string[] = []
    const handled: string[] = []
    const drainer = new QueueDrainer<string>({
      concurrency: 2,
      read: async () => {
        reads.push('read')
        return ['x']
      },
      readIds: async (ids) => {
        reads.push(`ids ${ids.join(',')}`)
        return ids.filter((id) => id !== '9') // 9: taken by another worker
      },
      handle: async (m) => {
        handled.push(m)
      },
      key: (m) => m,
      onError: (err) => {
        throw err
      },
    })
    drainer.offer(['1', '9'])
    await new Promise((r) => setImmediate(r))
    await drainer.stop().then(() => undefined)
    expect(reads).toEqual(['ids 1,9'])
    expect(handled).toEqual(['1'])
    const second = new QueueDrainer<string>({
      concurrency: 1,
      read: async () => {
        reads.push('read')
        return []
      },
      readIds: async (ids) => {
        reads.push(`ids ${ids.join(',')}`)
        return []
      },
      handle: async () => {},
      key: (m) => m,
      onError: (err) => {
        throw err
      },
    })
    second.trigger()
    second.offer(['3']) // named while the read ran, whose snapshot may predate it: claimed after
    await new Promise((r) => setImmediate(r))
    await second.stop()
    expect(reads).toEqual(['ids 1,9', 'read', 'ids 3'])
  })
})

describe('notifiedMsgIds', () => {
  const q = 'worker_linear_workflow_queue'
  test('the ids of a message, message_ready and batch_ready notification of the queue', () => {
    expect(notifiedMsgIds(JSON.stringify({ event_type: 'message_with_payload', msg_id: 42, queue_name: q, message: {} }), q)).toEqual(['42'])
    expect(notifiedMsgIds(JSON.stringify({ event_type: 'message_ready', msg_id: 7, queue_name: q, payload_omitted: true }), q)).toEqual(['7'])
    expect(notifiedMsgIds(JSON.stringify({ event_type: 'batch_ready', msg_ids: [5, 6], queue_name: q }), q)).toEqual(['5', '6'])
  })

  test('ids that can name no pgmq message are left out one by one, the rest kept and the left-out reported', () => {
    const ignored: unknown[][] = []
    const ids = notifiedMsgIds(
      JSON.stringify({ event_type: 'batch_ready', msg_ids: [5, '9223372036854775807', '9223372036854775808', '9999999999999999999', 'abc', -1, 0, 1.5, 2 ** 63, null, '7'], queue_name: q }),
      q,
      (left) => ignored.push(left),
    )
    expect(ids).toEqual(['5', '9223372036854775807', '7'])
    expect(ignored).toEqual([['9223372036854775808', '9999999999999999999', 'abc', -1, 0, 1.5, 2 ** 63, null]])
    // only bad ids: nothing to claim by id, the caller reads the queue
    expect(notifiedMsgIds(JSON.stringify({ msg_ids: ['99999999999999999999'], queue_name: q }), q, (left) => ignored.push(left))).toBeUndefined()
    expect(ignored).toHaveLength(2)
    // a good batch reports nothing
    expect(notifiedMsgIds(JSON.stringify({ msg_ids: ['1', 2], queue_name: q }), q, (left) => ignored.push(left))).toEqual(['1', '2'])
    expect(ignored).toHaveLength(2)
  })

  test('nothing usable: the caller reads the queue', () => {
    expect(notifiedMsgIds('not json', q)).toBeUndefined()
    expect(notifiedMsgIds(JSON.stringify({ msg_id: 1, queue_name: 'other_queue' }), q)).toBeUndefined()
    expect(notifiedMsgIds(JSON.stringify({ queue_name: q }), q)).toBeUndefined()
    expect(notifiedMsgIds(JSON.stringify({ msg_ids: [], queue_name: q }), q)).toBeUndefined()
    expect(notifiedMsgIds(JSON.stringify({ msg_id: 1.5, queue_name: q }), q)).toBeUndefined()
    expect(notifiedMsgIds('null', q)).toBeUndefined()
  })
})
