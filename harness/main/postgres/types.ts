import type { PostgresMode } from '../../results/environment.ts'

/** A PostgreSQL server the run can connect to, however it was provided. */
export interface StartedPostgres {
  mode: PostgresMode
  /** connection URL; may contain a password: print it through redactUrl() */
  url: string
  host: string
  port: number
  /** e.g. "18.4"; filled in after connecting for external servers */
  serverVersion: string
  /** true when the run created this server (and may seed and drop data in it) */
  owned: boolean
  timings?: Record<string, number>
  dataDir?: string
  /** embedded: the directory of the server's unix socket (private to the run's user; no password) */
  socketDir?: string
  /** last lines of the server's own log, for error messages */
  logTail?: () => string
  stop(): Promise<void>
  /** stop and start again on the same port and data; only where the run owns the server */
  restart?(): Promise<void>
}
