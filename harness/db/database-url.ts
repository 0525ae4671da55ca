/** The database a connection string names, and the same server with another database. */

export function databaseName(url: string): string {
  const path = new URL(url).pathname.replace(/^\//, '')
  return decodeURIComponent(path) || 'postgres'
}

export function withDatabase(url: string, name: string): string {
  const u = new URL(url)
  u.pathname = `/${encodeURIComponent(name)}`
  return u.toString()
}
