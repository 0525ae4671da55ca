/**
 * The import graph of the project's TypeScript files and the layout's boundaries (README, Layout):
 *   harness/config, harness/results   import nothing from harness/main, harness/bench, harness/offline,
 *                                     harness/db, harness/tasker
 *   harness/db, harness/tasker        shared by the main process and the bench files (PostgreSQL
 *                                     connections and scratch databases; the Tasker API client and
 *                                     completion watcher): import nothing from main, bench or offline
 *   harness/offline                   never imports harness/main or harness/bench
 *   harness/main                      never imports harness/bench, except `import type`
 *   harness/bench                     never imports harness/main, except `import type`
 *   outside orchestrator/             imports the orchestrator only through orchestrator/index.ts
 *   orchestrator/                     imports nothing of the suite (it is the system under test; it
 *                                     reads the task templates in fixtures/, data)
 */
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'

export interface ImportEdge {
  /** importing file, relative to the root, with forward slashes */
  from: string
  /** imported file, relative to the root (only relative specifiers are followed) */
  to: string
  /** `import type …` / `export type … from`: erased at run time */
  typeOnly: boolean
  line: number
}

/** Not source: installed packages, git, and (at the root only) run output. */
const SKIP_ANYWHERE = new Set(['node_modules', '.git'])
const SKIP_AT_ROOT = new Set(['results', '.tmp'])

/** Every .ts file under root, relative with forward slashes. */
export function tsFiles(root: string, dir = ''): string[] {
  const out: string[] = []
  for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = dir ? `${dir}/${entry.name}` : entry.name
    if (entry.isDirectory()) {
      if (!SKIP_ANYWHERE.has(entry.name) && !(dir === '' && SKIP_AT_ROOT.has(entry.name))) out.push(...tsFiles(root, rel))
    } else if (entry.name.endsWith('.ts')) out.push(rel)
  }
  return out
}

// `import … from 'x'`, `export … from 'x'`, `import 'x'`, `import('x')`: statement starts at a line start.
const STATIC = /^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s*)?['"]([^'"]+)['"]/gm
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g
/** `new URL('./x', import.meta.url)`: a file named by path (a process entry, SQL, a directory) counts too. */
const URL_REF = /\bnew URL\(\s*['"](\.[^'"]*)['"]\s*,\s*import\.meta\.url\s*\)/g

/** The relative imports of one file's source, and the files it names with new URL(…, import.meta.url). */
export function importsOf(file: string, source: string): ImportEdge[] {
  const edges: ImportEdge[] = []
  const lineAt = (index: number) => source.slice(0, index).split('\n').length
  const add = (spec: string, typeOnly: boolean, index: number) => {
    if (!spec.startsWith('.')) return
    edges.push({ from: file, to: path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)), typeOnly, line: lineAt(index) })
  }
  for (const m of source.matchAll(STATIC)) add(m[3]!, m[2] !== undefined, m.index)
  for (const m of source.matchAll(DYNAMIC)) add(m[1]!, false, m.index)
  for (const m of source.matchAll(URL_REF)) add(m[1]!, false, m.index)
  return edges
}

export function importGraph(root: string): ImportEdge[] {
  return tsFiles(root).flatMap((file) => importsOf(file, readFileSync(path.join(root, file), 'utf8')))
}

const under = (file: string, dir: string) => file === dir || file.startsWith(dir + '/')
const HARNESS_LAYERS = ['config', 'results', 'db', 'tasker', 'main', 'bench', 'offline'] as const
const layerOf = (file: string) => HARNESS_LAYERS.find((layer) => under(file, `harness/${layer}`))

/** One line per import that crosses a boundary: `file:line imports target: rule`. */
export function boundaryViolations(edges: ImportEdge[]): string[] {
  const out: string[] = []
  for (const e of edges) {
    const broken = brokenRule(e)
    if (broken) out.push(`${e.from}:${e.line} imports ${e.to}: ${broken}`)
  }
  return out
}

function brokenRule(e: ImportEdge): string | undefined {
  const fromInside = under(e.from, 'orchestrator')
  const toInside = under(e.to, 'orchestrator')
  if (fromInside && !toInside && !under(e.to, 'fixtures')) return 'the orchestrator (system under test) imports nothing of the suite (only data from fixtures/)'
  if (!fromInside && toInside && e.to !== 'orchestrator/index.ts') return 'outside orchestrator/, import only orchestrator/index.ts'
  const from = layerOf(e.from)
  const to = layerOf(e.to)
  if ((from === 'config' || from === 'results') && to !== undefined && to !== 'config' && to !== 'results') {
    return `harness/${from} is shared by every layer and imports none of them`
  }
  if ((from === 'db' || from === 'tasker') && (to === 'main' || to === 'bench' || to === 'offline')) {
    return `harness/${from} is shared by the main process and the bench files and imports neither (nor offline)`
  }
  if (from === 'offline' && (to === 'main' || to === 'bench')) return 'offline analysis never imports main-process or bench-worker code'
  if (from === 'bench' && to === 'main' && !e.typeOnly) return 'bench-worker code never imports main-process code (types only)'
  if (from === 'main' && to === 'bench' && !e.typeOnly) return 'main-process code never imports bench-worker code (types only); what both use lives in harness/db, harness/tasker or harness/results'
  return undefined
}
