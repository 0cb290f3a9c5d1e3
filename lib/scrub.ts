import { readField } from './error-status.js'
import { truncate } from './serialize-error.js'

/** What to hide from reports, on top of the defaults. */
export interface ScrubOptions {
  /** More header names to hide (exact names, case-insensitive, or patterns). */
  headers?: Array<string | RegExp>
  /** More body, query and error field names to hide. */
  fields?: Array<string | RegExp>
  /** Patterns whose matches are hidden wherever they appear in text (messages, stacks, URLs). */
  values?: RegExp[]
  /** What a hidden value becomes. Default `[scrubbed]`. */
  replacement?: string
}

const DEFAULT_HEADERS = /^(authorization|proxy-authorization|cookie|set-cookie)$|api[-_]?key|token|secret|passw|session|csrf|xsrf|signature|credential/i
const DEFAULT_FIELDS = /passw|pwd|secret|token|api[-_]?key|apikey|card|cvv|cvc|ssn|iban|credential|^auth$|authorization|session|private[-_]?key|cookie/i
// credentials in URLs ("postgres://app:hunter2@db") and bearer tokens in messages; each behind a cheap
// test, so the lookbehind only runs on text that could match
const DEFAULT_VALUES: Array<{ maybe: (text: string) => boolean; pattern: RegExp }> = [
  { maybe: (text) => text.includes('://') && text.includes('@'), pattern: /(?<=[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]+(?=@)/gi },
  { maybe: (text) => /bearer|basic/i.test(text), pattern: /(?<=\b(?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]{6,}/gi },
]
const MAX_DEPTH = 6
const MAX_KEYS = 100
const MAX_VALUE = 2000
const MIN_SECRET = 4

/** Scrubs one report's worth of data; secret values it hid are remembered so they can be hidden anywhere else they appear. */
export interface Scrubber {
  readonly replacement: string
  headers(headers: Record<string, unknown>, secrets: Set<string>): Record<string, string>
  fields(value: unknown, secrets: Set<string>): unknown
  url(url: string, secrets: Set<string>): string
  text(text: string, secrets: ReadonlySet<string>): string
}

function compileNames(defaults: RegExp, extra: Array<string | RegExp> | undefined): (name: string) => boolean {
  const exact = new Set<string>()
  const patterns: RegExp[] = [defaults]
  for (const item of extra ?? []) {
    if (typeof item === 'string') exact.add(item.toLowerCase())
    else patterns.push(new RegExp(item.source, item.flags.replace('g', '')))
  }
  return (name) => exact.has(name.toLowerCase()) || patterns.some((p) => p.test(name))
}

function remember(secrets: Set<string>, value: string): void {
  if (value.length >= MIN_SECRET) secrets.add(value)
}

const MIN_PART = 6

/**
 * Remembers a secret header's value and the parts of it that may be quoted
 * alone elsewhere: cookie values, a bearer token, Basic credentials decoded.
 */
function rememberHeaderSecrets(secrets: Set<string>, value: string): void {
  remember(secrets, value)
  const scheme = /^(\w+)\s+(\S+)$/.exec(value)
  if (scheme) {
    remember(secrets, scheme[2]!)
    if (scheme[1]!.toLowerCase() === 'basic') {
      const decoded = Buffer.from(scheme[2]!, 'base64').toString('utf8')
      const colon = decoded.indexOf(':')
      if (colon !== -1) remember(secrets, decoded.slice(colon + 1))
    }
    return
  }
  for (const pair of value.split(/;\s*/)) {
    const eq = pair.indexOf('=')
    const part = eq === -1 ? pair : pair.slice(eq + 1)
    if (part.length >= MIN_PART) secrets.add(part)
  }
}

/**
 * Compiles the scrubber once, at start-up: `Authorization`, `Cookie`,
 * `Set-Cookie`, `Proxy-Authorization` and key-like headers, and fields named
 * like password, secret, token, api_key or card, plus whatever the app adds.
 *
 * @example
 * ```ts
 * const scrubber = compileScrubber({ fields: ['iban'], values: [/\b\d{16}\b/g] })
 * ```
 */
export function compileScrubber(options: ScrubOptions = {}): Scrubber {
  const replacement = options.replacement ?? '[scrubbed]'
  const isSecretHeader = compileNames(DEFAULT_HEADERS, options.headers)
  const isSecretField = compileNames(DEFAULT_FIELDS, options.fields)
  const valuePatterns = [...DEFAULT_VALUES, ...(options.values ?? []).map((p) => ({ maybe: () => true, pattern: new RegExp(p.source, p.flags.includes('g') ? p.flags : `${p.flags}g`) }))]

  function fieldsAt(value: unknown, secrets: Set<string>, depth: number): unknown {
    if (typeof value === 'string') return truncate(value, MAX_VALUE)
    if (value === null || typeof value !== 'object') {
      return typeof value === 'number' || typeof value === 'boolean' ? value : value === undefined ? undefined : String(value)
    }
    if (depth >= MAX_DEPTH) return '[too deep]'
    if (Array.isArray(value)) return value.slice(0, MAX_KEYS).map((item) => fieldsAt(item, secrets, depth + 1))
    const out: Record<string, unknown> = {}
    let keys: string[]
    try {
      keys = Object.keys(value).slice(0, MAX_KEYS)
    } catch {
      return '[unreadable]'
    }
    for (const key of keys) {
      const item = readField(value, key)
      if (isSecretField(key)) {
        if (typeof item === 'string') remember(secrets, item)
        out[key] = replacement
      } else {
        out[key] = fieldsAt(item, secrets, depth + 1)
      }
    }
    return out
  }

  return {
    replacement,
    headers(headers, secrets) {
      const out: Record<string, string> = {}
      for (const name of Object.keys(headers)) {
        const raw = headers[name]
        const value = Array.isArray(raw) ? raw.join(', ') : String(raw ?? '')
        if (isSecretHeader(name)) {
          rememberHeaderSecrets(secrets, value)
          out[name] = replacement
        } else {
          out[name] = truncate(value, MAX_VALUE)
        }
      }
      return out
    },
    fields(value, secrets) {
      return fieldsAt(value, secrets, 0)
    },
    url(url, secrets) {
      const q = url.indexOf('?')
      if (q === -1) return url
      const params = url.slice(q + 1).split('&').map((pair) => {
        const eq = pair.indexOf('=')
        if (eq === -1) return pair
        let name = pair.slice(0, eq)
        try {
          name = decodeURIComponent(name.replace(/\+/g, ' '))
        } catch {
          // an undecodable name is judged as it stands
        }
        if (!isSecretField(name)) return pair
        const value = pair.slice(eq + 1)
        remember(secrets, value)
        try {
          remember(secrets, decodeURIComponent(value.replace(/\+/g, ' ')))
        } catch {
          // the raw value is remembered already
        }
        return `${pair.slice(0, eq)}=${encodeURIComponent(replacement)}`
      })
      return `${url.slice(0, q)}?${params.join('&')}`
    },
    text(text, secrets) {
      let out = text
      for (const { maybe, pattern } of valuePatterns) if (maybe(out)) out = out.replace(pattern, replacement)
      if (secrets.size === 0) return out
      // longest first, so a token is not half-replaced through a shorter secret inside it
      for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
        if (out.includes(secret)) out = out.split(secret).join(replacement)
      }
      return out
    },
  }
}

/** Applies `scrubber.text` to every string inside a JSON-safe value, in place of a copy. */
export function scrubStrings<T>(value: T, scrubber: Scrubber, secrets: ReadonlySet<string>): T {
  if (typeof value === 'string') return scrubber.text(value, secrets) as T
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map((item) => scrubStrings(item, scrubber, secrets)) as T
  const out: Record<string, unknown> = {}
  for (const [key, item] of Object.entries(value)) out[key] = scrubStrings(item, scrubber, secrets)
  return out as T
}
