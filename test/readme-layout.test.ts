/**
 * The README's Layout section names the folders the tree has, and no others: every top-level
 * folder the repository keeps (hidden ones such as .ci/ and .github/ included; .git/ and what
 * .gitignore leaves out are not the project's) and every room of harness/. It links every page
 * of docs/, and no page that does not exist.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, test } from 'vitest'

const ROOT = path.resolve(import.meta.dirname, '..')
const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8')
const block = /## Layout\n\n```\n([\s\S]*?)```/.exec(readme)?.[1]

const dirs = (dir: string) => readdirSync(path.join(ROOT, dir), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name)

/** Folders .gitignore names (`node_modules/`, `/results/`, `.cache/`…): local state, not the tree. */
function ignoredFolders(): Set<string> {
  const lines = readFileSync(path.join(ROOT, '.gitignore'), 'utf8').split('\n').map((l) => l.trim())
  return new Set(['.git', ...lines.filter((l) => /^\/?[^/*!#\s][^/*]*\/$/.test(l)).map((l) => l.replace(/^\//, '').slice(0, -1))])
}

describe('the README layout', () => {
  test('has a ## Layout section with a code block', () => {
    expect(block, 'README.md has a ## Layout section with a code block').toBeDefined()
  })

  test('lists the top-level folders of the tree, hidden ones included', () => {
    const listed = [...block!.matchAll(/^(\.?[a-z][\w.-]*)\//gm)].map((m) => m[1]!).sort()
    const ignored = ignoredFolders()
    const tree = dirs('.').filter((d) => !ignored.has(d)).sort()
    expect(tree).toEqual(expect.arrayContaining(['.ci', '.github', 'test', 'harness', 'docs']))
    expect(listed).toEqual(tree)
  })

  test('lists the rooms of harness/', () => {
    const lines = block!.split('\n')
    const below = lines.slice(lines.findIndex((l) => l.startsWith('harness/')) + 1)
    const section = below.slice(0, below.findIndex((l) => !l.startsWith(' ')))
    const rooms = section.flatMap((l) => /^ {2}([a-z][\w-]*)\//.exec(l)?.[1] ?? []).sort()
    expect(rooms).toEqual(dirs('harness').sort())
  })

  test('links every page of docs/, and only pages that exist', () => {
    const links = new Set([...readme.matchAll(/\]\((docs\/[^)#]+)/g)].map((m) => m[1]!))
    expect([...links].filter((l) => !existsSync(path.join(ROOT, l)))).toEqual([])
    const pages = readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)
    expect(pages.filter((p) => !links.has(p))).toEqual([])
  })
})
