/**
 * docs/contract.md is the contract the code cites: every citation of a section names one the page
 * has, and nothing cites a contract file the repository does not contain.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { expect, test } from 'vitest'
import { tsFiles } from './support/import-graph.ts'

const ROOT = path.resolve(import.meta.dirname, '..')
const CONTRACT = 'docs/contract.md'

test('every citation of docs/contract.md names a section it has', () => {
  const headings = new Set(readFileSync(path.join(ROOT, CONTRACT), 'utf8').split('\n').flatMap((l) => /^#{2,3} (.+)$/.exec(l)?.[1] ?? []))
  const sources = [...tsFiles(ROOT), ...['orchestrator/migrations/0001_schema.sql', 'orchestrator/migrations/0002_functions.sql']]
  const cited: string[] = []
  const stray: string[] = []
  for (const file of sources.filter((f) => f !== 'test/contract-citations.test.ts')) {
    const text = readFileSync(path.join(ROOT, file), 'utf8')
    for (const m of text.matchAll(/docs\/contract\.md "([^"]+)"/g)) cited.push(`${file}: ${m[1]}`)
    if (/CONTRACT\.md/.test(text)) stray.push(file)
  }
  expect(cited.length).toBeGreaterThan(5)
  expect(cited.filter((c) => !headings.has(c.slice(c.indexOf(': ') + 2)))).toEqual([])
  expect(stray).toEqual([])
})
