/** Asserts that a database's pgmq has pgmq 1.5.1's surface (orchestrator/pgmq/pgmq-1.5.1-surface.ts). */
import { expect } from 'vitest'
import type pg from 'pg'
import { PGMQ_ARCHIVE_TABLE, PGMQ_FUNCTIONS, PGMQ_QUEUE_TABLE, PGMQ_RELATIONS, readColumns, readPgmqFunctions } from '../../orchestrator/index.ts'

/** `queue`: an existing queue's table name part (lower case), whose q_/a_ tables are checked. */
export async function expectPgmq151Surface(client: pg.ClientBase | pg.Pool, queue: string): Promise<void> {
  const actual = await readPgmqFunctions(client)
  for (const want of PGMQ_FUNCTIONS) {
    const got = actual.get(want.signature)
    expect(got, `${want.signature} (pgmq.sql line ${want.line}) is missing`).toBeDefined()
    expect({ arguments: got!.arguments, result: got!.result }, want.signature).toEqual({ arguments: want.arguments, result: want.result })
  }
  // No extra overload of a listed name: it would make calls written for pgmq ambiguous or
  // silently pick another function.
  const names = new Set(PGMQ_FUNCTIONS.map((f) => f.signature.replace(/\(.*/, '')))
  const listed = new Set(PGMQ_FUNCTIONS.map((f) => f.signature))
  expect([...actual.keys()].filter((s) => names.has(s.replace(/\(.*/, '')) && !listed.has(s))).toEqual([])

  for (const relation of PGMQ_RELATIONS) {
    expect(await readColumns(client, relation.name), `${relation.name} (pgmq.sql line ${relation.line})`).toEqual(
      relation.kind === 'type' ? relation.columns.map((c) => ({ ...c, notNull: false })) : relation.columns,
    )
  }
  expect(await readColumns(client, `pgmq.q_${queue}`)).toEqual(PGMQ_QUEUE_TABLE)
  expect(await readColumns(client, `pgmq.a_${queue}`)).toEqual(PGMQ_ARCHIVE_TABLE)
}
