/**
 * .ci/container-stage.sh when the container path cannot run: on CI it fails unless skipping was
 * asked for (TASKER_CONTAINER_STAGE=skip), elsewhere it skips saying why; and its cleanup asks
 * the engine only for this run's containers (label tasker-bench.run=<BENCH_RUN_ID>).
 * A stand-in `docker` (and `dockerd`, `debootstrap`) first on PATH plays an engine that cannot
 * start, or one that answers while the image build fails, and logs every call; no real engine
 * is touched. test/container-engine.test.ts checks the label filter against a real engine.
 */
import { spawn } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { childEnded } from './support/child-ended.ts'

const ROOT = path.resolve(import.meta.dirname, '..')
const STAGE = path.join(ROOT, '.ci/container-stage.sh')
const dirs: string[] = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

const FAKE_DOCKER = `#!/usr/bin/env bash
echo "docker $*" >>"$FAKE_DOCKER_LOG"
case "$1" in
  info) if [[ "$FAKE_ENGINE" == up ]]; then echo 20.10.0-fake; exit 0; fi
        echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock" >&2; exit 1 ;;
  ps | network) exit 0 ;;
  *) echo "fake docker: $1 is not supported here" >&2; exit 1 ;;
esac
`
const FAILING = (what: string) => `#!/bin/sh\necho "fake ${what}: cannot run here" >&2\nexit 1\n`

interface StageRun {
  code: number | null
  output: string
  /** every `docker …` call the stage and its scripts made */
  dockerCalls: string[]
}

function runStage(env: Record<string, string>): Promise<StageRun> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tasker-bench-stage-test-'))
  dirs.push(dir)
  const bin = path.join(dir, 'bin')
  mkdirSync(bin)
  const standIns = { docker: FAKE_DOCKER, dockerd: FAILING('dockerd'), 'docker-compose': FAILING('docker-compose'), debootstrap: FAILING('debootstrap') }
  for (const [name, content] of Object.entries(standIns)) {
    writeFileSync(path.join(bin, name), content)
    chmodSync(path.join(bin, name), 0o755)
  }
  const log = path.join(dir, 'docker-calls.log')
  writeFileSync(log, '')
  const clean: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(BENCH_|TASKER_|CI$|DOCKER_|TESTCONTAINERS_|VITEST)/.test(k)) clean[k] = v
  }
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [STAGE], {
      cwd: ROOT,
      env: {
        ...clean,
        PATH: `${bin}:${process.env.PATH}`,
        FAKE_DOCKER_LOG: log,
        TASKER_ENGINE_STATE_DIR: path.join(dir, 'engine'),
        TASKER_ENGINE_START_TIMEOUT_S: '5',
        TASKER_IMAGE_CACHE_DIR: path.join(dir, 'cache'),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (d) => (output += d))
    child.stderr.on('data', (d) => (output += d))
    const timer = setTimeout(() => {
      child.kill('SIGTERM')
      reject(new Error(`container-stage.sh did not finish within 90 s:\n${output.slice(-2000)}`))
    }, 90_000)
    void childEnded(child).then(({ code }) => {
      clearTimeout(timer)
      resolve({ code, output, dockerCalls: readFileSync(log, 'utf8').split('\n').filter(Boolean) })
    })
  })
}

describe('.ci/container-stage.sh where the container path cannot run', () => {
  test('no engine on CI: the stage fails, saying how to skip it on purpose', async () => {
    const run = await runStage({ CI: 'true' })
    expect(run.code, run.output).toBe(1)
    expect(run.output).toMatch(/\[container-stage\] FAILED: cannot start a container engine: .*; the container path was not exercised \(on CI\)\. To skip this stage on purpose, set TASKER_CONTAINER_STAGE=skip/)
    expect(run.output).not.toMatch(/SKIPPED/)
  }, 120_000)

  test('no engine outside CI: skipped with the reason, exit 0', async () => {
    const run = await runStage({ CI: 'false' })
    expect(run.code, run.output).toBe(0)
    expect(run.output).toMatch(/\[container-stage\] SKIPPED: cannot start a container engine: .*\(on CI this fails unless TASKER_CONTAINER_STAGE=skip\)/)
  }, 120_000)

  test('TASKER_CONTAINER_STAGE=required fails outside CI too', async () => {
    const run = await runStage({ TASKER_CONTAINER_STAGE: 'required' })
    expect(run.code, run.output).toBe(1)
    expect(run.output).toMatch(/FAILED: .*\(TASKER_CONTAINER_STAGE=required\)/)
  }, 120_000)

  test('TASKER_CONTAINER_STAGE=skip on CI: skipped at once, no engine asked', async () => {
    const run = await runStage({ CI: 'true', TASKER_CONTAINER_STAGE: 'skip' })
    expect(run.code, run.output).toBe(0)
    expect(run.output).toContain('SKIPPED on purpose (TASKER_CONTAINER_STAGE=skip)')
    expect(run.dockerCalls).toEqual([])
  }, 120_000)

  test('an unknown TASKER_CONTAINER_STAGE is refused', async () => {
    const run = await runStage({ CI: 'true', TASKER_CONTAINER_STAGE: 'maybe' })
    expect(run.code, run.output).toBe(2)
    expect(run.output).toContain('TASKER_CONTAINER_STAGE=maybe is not one of auto|required|skip')
  }, 120_000)

  test('engine up but the images cannot be built, on CI: fails; cleanup asks only for this run’s containers', async () => {
    const run = await runStage({ CI: 'true', FAKE_ENGINE: 'up', BENCH_RUN_ID: 'stage-test-42' })
    expect(run.code, run.output).toBe(1)
    expect(run.output).toMatch(/FAILED: the local images could not be built \(see above\); the container path was not exercised \(on CI\)/)
    const listings = run.dockerCalls.filter((c) => /^docker (ps|network ls)/.test(c))
    expect(listings).toEqual(['docker ps -aq --filter label=tasker-bench.run=stage-test-42', 'docker network ls -q --filter label=tasker-bench.run=stage-test-42'])
    expect(run.dockerCalls.join('\n')).not.toMatch(/org\.testcontainers|com\.docker\.compose\.project|docker rm/)
  }, 120_000)
})
