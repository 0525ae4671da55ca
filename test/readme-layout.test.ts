/** The README's Layout section names the folders the tree has, and no others. */
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { expect, test } from 'vitest'

const ROOT = path.resolve(import.meta.dirname, '..')

test('the README layout lists the top-level folders and harness layers of the tree', () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8')
  const block = /## Layout\n\n```\n([\s\S]*?)```/.exec(readme)?.[1]
  expect(block, 'README.md has a ## Layout section with a code block').toBeDefined()
  const topLevel = [...block!.matchAll(/^([a-z][\w.-]*\/)/gm)].map((m) => m[1]!.slice(0, -1)).sort()
  const harness = [...block!.slice(block!.indexOf('harness/')).matchAll(/^ {2}([a-z][\w-]*)\//gm)].map((m) => m[1]!).filter((d) => !['src', 'pgmq', 'docker'].includes(d)).sort()
  const dirs = (dir: string) => readdirSync(path.join(ROOT, dir), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name)
  const ignored = new Set(['node_modules', 'results'])
  expect(topLevel).toEqual(dirs('.').filter((d) => !d.startsWith('.') && !ignored.has(d)).sort())
  expect(harness).toEqual(dirs('harness').sort())
})
