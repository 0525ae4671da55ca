/**
 * Container mode: Testcontainers' PostgreSqlContainer with a pgmq image. No registry may be
 * reachable, so a missing image is reported with what to do instead of a long pull timeout.
 *
 * The superuser's password is random per start (Testcontainers' default is the well-known
 * "test"), and the server's port is published on 127.0.0.1 only (Docker publishes on every
 * interface unless told otherwise, or unless its daemon was started with --ip 127.0.0.1).
 */
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { PostgreSqlContainer } from '@testcontainers/postgresql'
import { getContainerRuntimeClient, ImageName } from 'testcontainers'
import { onCleanup } from '../cleanup.ts'
import { loadSettings } from '../../config/settings.ts'
import type { StartedPostgres } from './types.ts'

const RYUK_IMAGE = 'testcontainers/ryuk'

/**
 * The label every container the suite starts carries (Testcontainers here, the compose file's
 * services through TASKER_BENCH_RUN): its value is the run's id, BENCH_RUN_ID or else one fresh
 * id per process. A cleanup filters on it (`docker ps --filter label=tasker-bench.run=<id>`) and
 * so removes this run's containers only, never anyone else's Testcontainers containers.
 */
export const RUN_LABEL = 'tasker-bench.run'
/** Per start: lets an interrupted start remove exactly the container it was creating. */
const START_LABEL = 'tasker-bench.start'
const PROCESS_RUN_ID = `tasker-bench-${process.pid}-${Date.now()}`

export function containerRunId(): string {
  return loadSettings().BENCH_RUN_ID ?? PROCESS_RUN_ID
}

/** Cheap check before asking Testcontainers (whose runtime probing can take seconds). */
export function containerRuntimeConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.DOCKER_HOST) || existsSync('/var/run/docker.sock')
}

export type ImageStatus = { runtime: false; why: string } | { runtime: true; present: boolean }

export async function imageStatus(image: string): Promise<ImageStatus> {
  if (!containerRuntimeConfigured()) return { runtime: false, why: 'no container runtime (no DOCKER_HOST, no /var/run/docker.sock)' }
  preferLoopback()
  try {
    const client = await withTimeout(getContainerRuntimeClient(), 5_000, 'container runtime did not answer within 5 s')
    return { runtime: true, present: await client.image.exists(ImageName.fromString(image)) }
  } catch (err) {
    return { runtime: false, why: `container runtime unavailable: ${(err as Error).message}` }
  }
}

export async function startContainerPostgres(image: string, log: (line: string) => void = () => {}): Promise<StartedPostgres> {
  const status = await imageStatus(image)
  if (!status.runtime) throw new Error(`BENCH_POSTGRES=container: ${status.why}. Start Docker, or use BENCH_POSTGRES=embedded.`)
  if (!status.present) {
    throw new Error(
      `BENCH_POSTGRES=container: image ${image} is not present locally and no registry may be reachable. ` +
        `Pull it (docker pull ${image}), build one and set BENCH_PG_IMAGE (see docs/deployments.md, "Container mode without a registry"), or use BENCH_POSTGRES=embedded.`,
    )
  }
  await disableRyukWithoutImage(log)
  // The port is published on the engine host's 127.0.0.1: reachable only where that is this machine.
  const host = (await getContainerRuntimeClient()).info.containerRuntime.host
  if (!/^(localhost|127\.\d+\.\d+\.\d+|::1|\[::1\])$/.test(host)) {
    throw new Error(
      `BENCH_POSTGRES=container: Testcontainers would reach the container at ${host}, but its port is published on 127.0.0.1 only; ` +
        `run the engine on this machine and set TESTCONTAINERS_HOST_OVERRIDE=localhost, or use BENCH_POSTGRES=embedded`,
    )
  }
  const t0 = performance.now()
  // Registered before start(): a Ctrl-C while the container starts removes it by its start label.
  const startId = `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`
  const removeStarting = onCleanup(`container starting (${startId})`, () => removeLabelled(`${START_LABEL}=${startId}`))
  const container = await new LoopbackPostgreSqlContainer(image)
    .withPassword(newSuperuserPassword())
    .withPullPolicy({ shouldPull: () => false })
    // pg_stat_statements (contrib, shipped by Debian's and the official images) for work per task
    .withCommand(['postgres', '-c', 'shared_preload_libraries=pg_stat_statements', '-c', 'pg_stat_statements.track=all'])
    .withLabels({ [RUN_LABEL]: containerRunId(), [START_LABEL]: startId })
    .start()
    .finally(removeStarting)
  const stop = async () => {
    await container.stop({ timeout: 5_000 })
  }
  const unregister = onCleanup(`container ${container.getId().slice(0, 12)}`, stop)
  log(`container PostgreSQL ${image} on ${container.getHost()}:${container.getPort()} (${(performance.now() - t0).toFixed(0)} ms)`)
  const url = container.getConnectionUri()
  return {
    mode: 'container',
    url,
    host: container.getHost(),
    port: container.getPort(),
    serverVersion: '',
    owned: true,
    async stop() {
      await stop()
      unregister()
    },
    async restart() {
      await container.restart()
    },
  }
}

/** 24 random bytes, base64url: safe in the URL and in the image's health-check shell command. */
export function newSuperuserPassword(): string {
  return randomBytes(24).toString('base64url')
}

/** Publishes its ports on the loopback interface only (Testcontainers has no option for the host IP). */
class LoopbackPostgreSqlContainer extends PostgreSqlContainer {
  override async start() {
    for (const bindings of Object.values(this.hostConfig.PortBindings ?? {})) {
      for (const binding of bindings as { HostIp?: string }[]) binding.HostIp = '127.0.0.1'
    }
    return super.start()
  }
}

/**
 * Inside a container (a /.dockerenv file, as on some CI machines) Testcontainers reaches mapped
 * ports through the bridge gateway; an engine that publishes on 127.0.0.1 only is reached on
 * localhost. Keeps the run's traffic on loopback unless the user says otherwise.
 */
function preferLoopback(): void {
  if (!process.env.DOCKER_HOST && process.env.TESTCONTAINERS_HOST_OVERRIDE === undefined) process.env.TESTCONTAINERS_HOST_OVERRIDE = 'localhost'
}

/** Ryuk (the reaper) is itself an image; where it cannot be had, the suite reaps its own containers. */
async function disableRyukWithoutImage(log: (line: string) => void): Promise<void> {
  if (process.env.TESTCONTAINERS_RYUK_DISABLED !== undefined) return
  const client = await getContainerRuntimeClient()
  const images = await client.container.dockerode.listImages({ filters: { reference: [RYUK_IMAGE] } }).catch(() => [])
  if (images.length === 0) {
    process.env.TESTCONTAINERS_RYUK_DISABLED = 'true'
    log(`Ryuk image not present: TESTCONTAINERS_RYUK_DISABLED=true (the suite stops its own containers, also on Ctrl-C)`)
  }
}

async function removeLabelled(label: string): Promise<void> {
  const client = await getContainerRuntimeClient()
  const found = await client.container.dockerode.listContainers({ all: true, filters: { label: [label] } })
  await Promise.all(found.map((c) => client.container.dockerode.getContainer(c.Id).remove({ force: true })))
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms)
    }),
  ])
}
