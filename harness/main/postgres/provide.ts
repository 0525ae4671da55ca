/**
 * Chooses where PostgreSQL comes from (BENCH_POSTGRES) and starts or connects to it.
 * `auto`: DATABASE_URL set → external; else a container runtime with the image present →
 * container; else embedded. The chosen mode and the reason are returned for the one-line report.
 */
import type { Settings } from '../../config/settings.ts'
import { ConfigError } from '../../config/settings.ts'
import { imageStatus, startContainerPostgres } from './container.ts'
import { startEmbeddedPostgres } from './embedded.ts'
import { preparePgmqFromSource } from './pgmq-from-source.ts'
import { connectExternalPostgres } from './external.ts'
import type { PostgresMode } from '../../results/environment.ts'
import type { StartedPostgres } from './types.ts'

export interface ModeChoice {
  mode: PostgresMode
  reason: string
}

export async function choosePostgresMode(settings: Settings): Promise<ModeChoice> {
  switch (settings.BENCH_POSTGRES) {
    case 'external':
      if (!settings.DATABASE_URL) throw new ConfigError('BENCH_POSTGRES=external needs DATABASE_URL (postgres://user:password@host:5432/db)')
      return { mode: 'external', reason: 'BENCH_POSTGRES=external' }
    case 'embedded':
      return { mode: 'embedded', reason: 'BENCH_POSTGRES=embedded' }
    case 'container':
      return { mode: 'container', reason: 'BENCH_POSTGRES=container' }
    case 'auto': {
      if (settings.DATABASE_URL) return { mode: 'external', reason: 'DATABASE_URL is set' }
      const status = await imageStatus(settings.BENCH_PG_IMAGE)
      if (!status.runtime) return { mode: 'embedded', reason: status.why }
      if (!status.present) return { mode: 'embedded', reason: `image ${settings.BENCH_PG_IMAGE} is not present locally` }
      return { mode: 'container', reason: `container runtime and image ${settings.BENCH_PG_IMAGE} present` }
    }
  }
}

export async function providePostgres(settings: Settings, choice: ModeChoice, log: (line: string) => void): Promise<StartedPostgres> {
  switch (choice.mode) {
    case 'external':
      return connectExternalPostgres(settings.DATABASE_URL!)
    case 'container':
      return startContainerPostgres(settings.BENCH_PG_IMAGE, log)
    case 'embedded': {
      const progress = settings.BENCH_VERBOSE ? log : undefined
      if (!settings.PGMQ_SOURCE_DIR) return startEmbeddedPostgres({ binDir: settings.PG_BIN_DIR, log, progress })
      const pgmq = preparePgmqFromSource(settings.PGMQ_SOURCE_DIR)
      log(`pgmq extension ${pgmq.version} from PGMQ_SOURCE_DIR=${settings.PGMQ_SOURCE_DIR} (extension_control_path)`)
      try {
        const server = await startEmbeddedPostgres({ binDir: settings.PG_BIN_DIR, log, progress, settings: pgmq.settings })
        return {
          ...server,
          async stop() {
            await server.stop()
            pgmq.remove()
          },
        }
      } catch (err) {
        pgmq.remove()
        throw err
      }
    }
  }
}
