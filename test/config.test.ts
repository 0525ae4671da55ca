import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import { PROFILE_DEFAULTS, profileDefaultText, profileValue, type ProfileDefaulted } from '../harness/config/profile.ts'
import { ConfigError, loadSettings, redactUrl, unknownBenchVariables, VARIABLES } from '../harness/config/settings.ts'

const dirs: string[] = []
function projectWith(dotenv?: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tasker-bench-config-'))
  dirs.push(dir)
  if (dotenv !== undefined) writeFileSync(path.join(dir, '.env'), dotenv)
  return dir
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe('loadSettings', () => {
  test('defaults without environment or .env', () => {
    const s = loadSettings({ env: {}, root: projectWith() })
    expect(s.BENCH_POSTGRES).toBe('auto')
    expect(s.BENCH_PROFILE).toBe('full')
    expect(s.BENCH_WORKERS).toBe(2)
    expect(s.DATABASE_URL).toBeUndefined()
    expect(s.envFile).toBeUndefined()
  })

  test('reads .env, and the real environment wins', () => {
    const root = projectWith('BENCH_WORKERS=4\nBENCH_POSTGRES=embedded\n# comment\n\n')
    const s = loadSettings({ env: { BENCH_WORKERS: '3' }, root })
    expect(s.BENCH_WORKERS).toBe(3)
    expect(s.BENCH_POSTGRES).toBe('embedded')
    expect(s.envFile).toBe(path.join(root, '.env'))
  })

  test.each([
    [{ BENCH_POSTGRES: 'foo' }, 'BENCH_POSTGRES=foo is not one of auto|embedded|container|external'],
    [{ BENCH_WORKERS: 'two' }, 'BENCH_WORKERS=two is not a whole number (expected 1..32)'],
    [{ BENCH_WORKERS: '0' }, 'BENCH_WORKERS=0 is out of range (expected 1..32)'],
    [{ BENCH_SEED: 'maybe' }, 'BENCH_SEED=maybe is not a boolean (expected true|false)'],
    [{ BENCH_SQL_SCALES: '1000,lots' }, 'BENCH_SQL_SCALES=lots is not a whole number'],
    [{ TASKER_ORCHESTRATION_URL: 'localhost:8080' }, 'TASKER_ORCHESTRATION_URL has protocol localhost: (expected http: or https:)'],
  ])('invalid %o fails with one line naming variable, value and what is accepted', (env, message) => {
    expect(() => loadSettings({ env, root: projectWith() })).toThrowError(new RegExp(`^${escape(message)}`))
  })

  test('a DATABASE_URL error never shows the password', () => {
    let message = ''
    try {
      loadSettings({ env: { DATABASE_URL: 'mysql://u:s3cret@h:1/db' }, root: projectWith() })
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError)
      message = (err as Error).message
    }
    expect(message).toContain('DATABASE_URL')
    expect(message).not.toContain('s3cret')
  })

  test('a malformed .env line names file and line', () => {
    const root = projectWith('BENCH_WORKERS=2\nthis is not a setting\n')
    expect(() => loadSettings({ env: {}, root })).toThrowError(`${path.join(root, '.env')}:2: expected KEY=value`)
  })

  test('an unknown BENCH_ variable in .env is an error with a suggestion', () => {
    const root = projectWith('BENCH_POSTGRESS=embedded\n')
    expect(() => loadSettings({ env: {}, root })).toThrowError(/BENCH_POSTGRESS is not a known variable.*did you mean BENCH_POSTGRES\?/)
  })

  test('BENCH_ENV_FILE must exist', () => {
    expect(() => loadSettings({ env: { BENCH_ENV_FILE: 'nope.env' }, root: projectWith() })).toThrowError('BENCH_ENV_FILE=nope.env: no such file')
  })

  test('unknown BENCH_ variables in the environment are reported', () => {
    expect(unknownBenchVariables({ BENCH_WORKRES: '2', BENCH_WORKERS: '2', HOME: '/' })).toEqual(['BENCH_WORKRES'])
  })
})

test('redactUrl hides passwords', () => {
  expect(redactUrl('postgres://tasker:pw@db:5432/x')).toBe('postgres://tasker:***@db:5432/x')
  expect(redactUrl('postgres://db:5432/x')).toBe('postgres://db:5432/x')
})

test('.env.example documents every variable', () => {
  const example = readFileSync(path.resolve(import.meta.dirname, '../.env.example'), 'utf8')
  const missing = Object.keys(VARIABLES).filter((name) => !new RegExp(`^#?\\s*${name}=`, 'm').test(example))
  expect(missing).toEqual([])
})

describe('per-profile defaults (harness/config/profile.ts)', () => {
  const example = readFileSync(path.resolve(import.meta.dirname, '../.env.example'), 'utf8').split('\n')
  const names = Object.keys(PROFILE_DEFAULTS) as ProfileDefaulted[]

  /** The comment lines right above `# NAME=…` and the example value on it. */
  function documented(name: string): { text: string; value: string | undefined } {
    const at = example.findIndex((line) => new RegExp(`^#\\s*${name}=`).test(line))
    const above: string[] = []
    for (let i = at - 1; i >= 0 && /^# /.test(example[i]!) && !/^#\s*[A-Z0-9_]+=/.test(example[i]!); i--) above.unshift(example[i]!)
    return { text: above.join(' '), value: at < 0 ? undefined : example[at]!.replace(/^#\s*[A-Z0-9_]+=/, '') }
  }

  test.for(names)('.env.example states the defaults of %s as the code has them', (name) => {
    const { text, value } = documented(name)
    expect(text).toContain(`(${profileDefaultText(name)})`)
    const full = PROFILE_DEFAULTS[name].full
    expect(value).toBe(typeof full === 'number' ? String(full) : full.join(','))
    expect(VARIABLES[name].describe).toContain(profileDefaultText(name))
  })

  test('the profile decides an unset variable; a set one is used as given', () => {
    const smoke = loadSettings({ env: { BENCH_PROFILE: 'smoke' }, root: projectWith() })
    const full = loadSettings({ env: {}, root: projectWith() })
    expect(profileValue(smoke, 'BENCH_E2E_SAMPLES')).toBe(PROFILE_DEFAULTS.BENCH_E2E_SAMPLES.smoke)
    expect(profileValue(full, 'BENCH_LOAD_RATES')).toEqual(PROFILE_DEFAULTS.BENCH_LOAD_RATES.full)
    expect(profileValue(loadSettings({ env: { BENCH_PROFILE: 'smoke', BENCH_E2E_SAMPLES: '40' }, root: projectWith() }), 'BENCH_E2E_SAMPLES')).toBe(40)
  })
})

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
