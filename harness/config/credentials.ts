/**
 * Credentials in URLs (`scheme://user:password@host`): hidden from everything the suite prints or
 * records, and moved into an Authorization header for HTTP calls (fetch refuses URLs that carry
 * them, and its error message would repeat the whole URL).
 */

/**
 * `scheme://user:password@` anywhere in a text, e.g. an error message from a library. The user may
 * hold a raw `@` and the password raw `@` and `:`: the userinfo ends at the LAST `@` before the
 * host (as URL parsers read it), so the greedy password part backtracks to that one.
 */
const CREDENTIALS_IN_TEXT = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#:'"`]*):([^\s/?#'"`]*)@/gi

/**
 * Parameters that carry a secret: node-postgres takes `?password=` as the password, libpq's
 * keyword form says `password=…`, and HTTP URLs carry tokens and keys the same way.
 */
const SECRET_PARAM = /^(?:ssl)?password$|^passwd$|^pwd$|^secret$|token$|^api[_-]?key$/i
const SECRET_PARAM_IN_TEXT = /(^|[\s?&;,])((?:ssl)?password|passwd|pwd|secret|[a-z_]*token|api[_-]?key)=([^\s&#;,'"`]*)/gi

/** The same text with every URL password and secret parameter replaced by `***` (user names stay: they are not secret). */
export function redactCredentials(text: string): string {
  return text
    .replace(CREDENTIALS_IN_TEXT, (_m, scheme: string, user: string) => `${scheme}${user}:***@`)
    .replace(SECRET_PARAM_IN_TEXT, (_m, before: string, name: string) => `${before}${name}=***`)
}

/** Never print a password: `postgres://user:***@host:5432/db`, `…/db?password=***`. */
export function redactUrl(raw: string): string {
  let u: URL
  try {
    u = new URL(raw)
  } catch {
    // Not a URL a client could use either; a password holding a raw `/`, `?` or `#` ends the
    // authority early, so everything up to the string's last `@` is hidden.
    return redactCredentials(raw.replace(/^([a-z][a-z0-9+.-]*:\/\/[^\s/?#:]*):.*@/is, '$1:***@'))
  }
  if (u.password) u.password = '***'
  const secrets = [...u.searchParams.keys()].filter((k) => SECRET_PARAM.test(k))
  for (const k of secrets) u.searchParams.set(k, '***')
  return u.toString()
}

/** Every string in a JSON-serialisable value, redacted (for what is recorded in result files). */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redactCredentials(value) as T
  if (Array.isArray(value)) return value.map((v) => redactDeep(v)) as T
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, redactDeep(v)])) as T
  }
  return value
}

export interface HttpTarget {
  /** the URL without user and password */
  url: string
  /** `authorization: Basic …` when the URL carried credentials, else empty */
  headers: Record<string, string>
}

/** An http(s) URL split into one fetch accepts and the Basic authorization its credentials meant. */
export function httpTarget(raw: string): HttpTarget {
  const u = new URL(raw)
  if (!u.username && !u.password) return { url: raw, headers: {} }
  const user = decodeURIComponent(u.username)
  const password = decodeURIComponent(u.password)
  u.username = ''
  u.password = ''
  return { url: u.toString(), headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` } }
}
