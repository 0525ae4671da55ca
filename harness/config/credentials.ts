/**
 * Credentials in URLs (`scheme://user:password@host`): hidden from everything the suite prints or
 * records, and moved into an Authorization header for HTTP calls (fetch refuses URLs that carry
 * them, and its error message would repeat the whole URL).
 */

/** `scheme://user:password@` anywhere in a text, e.g. an error message from a library. */
const CREDENTIALS_IN_TEXT = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@:'"`]*):([^\s/?#@'"`]*)@/gi

/** The same text with every URL password replaced by `***` (the user name stays: it is not secret). */
export function redactCredentials(text: string): string {
  return text.replace(CREDENTIALS_IN_TEXT, (_m, scheme: string, user: string) => `${scheme}${user}:***@`)
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
