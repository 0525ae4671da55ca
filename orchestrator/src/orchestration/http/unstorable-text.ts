/**
 * Text PostgreSQL cannot store although JSON can carry it: U+0000 ("\u0000"; neither text nor
 * jsonb holds it) and a lone UTF-16 surrogate ("\ud800"; jsonb refuses the escape, a text column
 * would silently get U+FFFD). A request is checked before it reaches the database, so the client
 * hears which field is at fault (400) instead of the database failing the insert (500).
 * serde_json, which tasker-core's API uses, refuses lone surrogates too.
 */

// Without the u flag a regex sees UTF-16 code units, which is what finds an unpaired surrogate.
const NUL = /\u0000/
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/** What is wrong with the string for PostgreSQL, or undefined when nothing is. */
export function textProblem(s: string): string | undefined {
  if (NUL.test(s)) return 'contains U+0000 (a NUL character, "\\u0000"), which PostgreSQL text and jsonb cannot store'
  if (LONE_SURROGATE.test(s)) return 'contains a lone UTF-16 surrogate (an unpaired "\\ud800"–"\\udfff" escape), which is not Unicode text'
  return undefined
}

export interface TextProblem {
  /** path of the offending value from the request body: context.a[2].b */
  field: string
  message: string
}

const MAX_PATH = 200

/**
 * The first key or string at any depth of `value` (a parsed JSON document) that PostgreSQL cannot
 * store, with its path from `root`. Iterative, so a deep document cannot overflow the stack.
 */
export function findUnstorableText(value: unknown, root: string): TextProblem | undefined {
  const stack: Array<[unknown, string]> = [[value, root]]
  while (stack.length > 0) {
    const [v, path] = stack.pop()!
    if (typeof v === 'string') {
      const problem = textProblem(v)
      if (problem) return { field: path, message: `field '${path}' ${problem}` }
      continue
    }
    if (v === null || typeof v !== 'object') continue
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], child(path, `[${i}]`)])
      continue
    }
    for (const [key, item] of Object.entries(v as Record<string, unknown>)) {
      const problem = textProblem(key)
      if (problem) return { field: path, message: `field '${path}' has a key (${JSON.stringify(key.slice(0, 40))}) that ${problem}` }
      stack.push([item, child(path, /^[A-Za-z0-9_$-]+$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`)])
    }
  }
  return undefined
}

/** A path cut short, so a client's long keys do not make a long error message. */
function child(path: string, step: string): string {
  if (path.endsWith('…')) return path
  const next = path + step
  return next.length > MAX_PATH ? `${next.slice(0, MAX_PATH)}…` : next
}
