/**
 * Prints, one per line and relative to the project root, the installed package directories the
 * reference orchestrator needs at run time: the packages its source imports by bare name, and
 * their dependencies, transitively, resolved the way Node resolves them (nearest node_modules
 * upwards). build-images.sh copies exactly these into the orchestrator image, instead of the
 * whole node_modules (which holds vitest, typescript and PostgreSQL binaries the image has no use for).
 *
 *   node scripts/container/runtime-packages.ts [source dir…]   (default: orchestrator)
 */
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs'
import { isBuiltin } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

/** `import … from 'x'`, `export … from 'x'`, `import('x')`, `import 'x'`. */
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g

export function bareImports(sourceDirs: string[]): Set<string> {
  const names = new Set<string>()
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name)
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules') visit(full)
      } else if (/\.(ts|mts|js|mjs)$/.test(entry.name)) {
        for (const m of readFileSync(full, 'utf8').matchAll(IMPORT)) {
          const spec = m[1]!
          if (spec.startsWith('.') || spec.startsWith('/') || isBuiltin(spec)) continue
          names.add(packageName(spec))
        }
      }
    }
  }
  for (const d of sourceDirs) visit(d)
  return names
}

function packageName(spec: string): string {
  const parts = spec.split('/')
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!
}

/** Directory of `name` as Node would find it from `fromDir`, or undefined when not installed. */
function resolvePackageDir(name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name)
    if (existsSync(path.join(candidate, 'package.json'))) return realpathSync(candidate)
    if (dir === path.dirname(dir)) return undefined
  }
}

export function runtimePackageDirs(roots: Iterable<string>, from: string = root): string[] {
  const found = new Set<string>()
  const queue: Array<{ name: string; from: string; optional: boolean }> = [...roots].map((name) => ({ name, from, optional: false }))
  for (let i = 0; i < queue.length && i < 100_000; i++) {
    const { name, from: fromDir, optional } = queue[i]!
    const dir = resolvePackageDir(name, fromDir)
    if (!dir) {
      if (optional) continue
      throw new Error(`runtime-packages: ${name} (needed from ${path.relative(root, fromDir) || '.'}) is not installed: run npm ci`)
    }
    if (found.has(dir)) continue
    found.add(dir)
    const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>
    for (const dep of Object.keys(pkg.dependencies ?? {})) queue.push({ name: dep, from: dir, optional: false })
    for (const dep of Object.keys({ ...pkg.optionalDependencies, ...pkg.peerDependencies })) queue.push({ name: dep, from: dir, optional: true })
  }
  // A package nested inside another listed one is copied with it.
  const sorted = [...found].sort()
  return sorted
    .filter((d, i) => !sorted.slice(0, i).some((outer) => d.startsWith(outer + path.sep)))
    .map((d) => path.relative(root, d))
    .filter((d) => !d.startsWith('..') && statSync(path.join(root, d)).isDirectory())
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dirs = process.argv.slice(2)
  const sources = (dirs.length > 0 ? dirs : ['orchestrator']).map((d) => path.resolve(root, d))
  for (const line of runtimePackageDirs(bareImports(sources))) console.log(line)
}
