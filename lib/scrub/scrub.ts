import { readField } from '../report/error-status.js'
import { isSecretName } from './secret-names.js'
import {
  scrubCardNumbers,
  scrubKeyValues,
  scrubSchemeTokens,
  scrubUrlCredentials,
} from './scrub-text.js'
import { truncate } from '../report/serialize-error.js'
import { MAX_DEPTH, MAX_KEYS, MAX_VALUE } from './limits.js'
import {
  matcherOf,
  remember,
  rememberer,
  rememberHeaderSecrets,
  rememberLeaves,
} from './remembered-secrets.js'

/**
 * What to hide from reports, on top of the defaults.
 *
 * @example
 * ```ts
 * // the app's own secrets; passwords, tokens, cookies and cards are hidden already
 * const scrub: ScrubOptions = { fields: ['loyaltyNumber', /^acct_/], values: [/\bsk_live_\w+/g] }
 * createFaultline({ scrub })
 * ```
 */
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

const MAX_HEADERS = 200
// fields walked per request part: a body of 10,000 fields costs no more than one of 1,000
const MAX_NODES = 1000
const MAX_CHARS = 64 * 1024
/** The longest text examined; report strings are cut well below it before they get here. */
export const MAX_TEXT = 64 * 1024

/**
 * Scrubs one report's worth of data; secret values it hid are remembered so
 * they can be hidden anywhere else they appear.
 *
 * @example
 * ```ts
 * const scrubber: Scrubber = compileScrubber({ fields: ['accountRef'] })
 * const secrets = new Set<string>() // one per report: what one part hides, the others hide too
 * scrubber.fields({ accountRef: 'AC-7731-XQ' }, secrets) // { accountRef: '[scrubbed]' }
 * scrubber.text('no ledger for AC-7731-XQ', secrets) // 'no ledger for [scrubbed]'
 * ```
 */
export interface Scrubber {
  readonly replacement: string
  headers(headers: Record<string, unknown>, secrets: Set<string>): Record<string, string>
  fields(value: unknown, secrets: Set<string>): unknown
  url(url: string, secrets: Set<string>): string
  /** Hides secrets in free text; with a writable set, what it finds by pattern is remembered there too. */
  text(text: string, secrets: ReadonlySet<string>): string
}

function compileNames(
  header: boolean,
  extra: Array<string | RegExp> | undefined,
): (name: string) => boolean {
  const exact = new Set<string>()
  const patterns: RegExp[] = []
  for (const item of extra ?? []) {
    if (typeof item === 'string') exact.add(item.toLowerCase())
    else patterns.push(new RegExp(item.source, item.flags.replace('g', '')))
  }
  // names repeat from request to request: each is judged once
  const known = new Map<string, boolean>()
  return (name) => {
    let secret = known.get(name)
    if (secret === undefined) {
      secret =
        exact.has(name.toLowerCase()) ||
        isSecretName(name, header) ||
        patterns.some((p) => p.test(name))
      if (known.size >= 10_000) known.clear()
      known.set(name, secret)
    }
    return secret
  }
}

// a header value that is a URL (Referer, Origin, Location, X-Original-URL…) is scrubbed as the request URL is
function isUrlShaped(value: string): boolean {
  return value.startsWith('/') || /^[a-z][a-z0-9+.-]{0,30}:\/\//i.test(value)
}

/**
 * Compiles the scrubber once, at start-up: `Authorization`, `Cookie`,
 * `Set-Cookie`, `Proxy-Authorization` and key-like headers, and fields named
 * like password, secret, token, api_key or card (see `isSecretName`), plus
 * whatever the app adds.
 *
 * @example
 * ```ts
 * const scrubber = compileScrubber({ fields: ['iban'], values: [/\b\d{16}\b/g] })
 * ```
 */
export function compileScrubber(options: ScrubOptions = {}): Scrubber {
  const replacement = options.replacement ?? '[scrubbed]'
  const encoded = encodeURIComponent(replacement)
  const isSecretHeader = compileNames(true, options.headers)
  const isSecretField = compileNames(false, options.fields)
  const isSecretKey = (name: string) => isSecretField(name) || isSecretHeader(name)
  const valuePatterns = (options.values ?? []).map(
    (p) => new RegExp(p.source, p.flags.includes('g') ? p.flags : `${p.flags}g`),
  )

  function fieldsAt(
    value: unknown,
    secrets: Set<string>,
    depth: number,
    budget: { nodes: number; chars: number },
  ): unknown {
    if (typeof value === 'string') {
      if (budget.chars <= 0) return '[not shown: too much text]'
      budget.chars -= Math.min(value.length, MAX_VALUE)
      return truncate(value, MAX_VALUE)
    }
    if (value === null || typeof value !== 'object') {
      return typeof value === 'number' || typeof value === 'boolean'
        ? value
        : value === undefined
          ? undefined
          : String(value)
    }
    if (depth >= MAX_DEPTH) return '[too deep]'
    if (budget.nodes <= 0) return '[not shown: too many fields]'
    if (Array.isArray(value)) {
      budget.nodes -= Math.min(value.length, MAX_KEYS)
      return value.slice(0, MAX_KEYS).map((item) => fieldsAt(item, secrets, depth + 1, budget))
    }
    const out: Record<string, unknown> = {}
    let keys: string[]
    try {
      keys = Object.keys(value).slice(0, MAX_KEYS)
    } catch {
      return '[unreadable]'
    }
    budget.nodes -= keys.length
    for (const key of keys) {
      const item = readField(value, key)
      if (isSecretField(key)) {
        rememberLeaves(secrets, item, { nodes: 50 })
        out[key] = replacement
      } else {
        out[key] = fieldsAt(item, secrets, depth + 1, budget)
      }
    }
    return out
  }

  function scrubParams(part: string, secrets: Set<string>): string {
    if (!part.includes('=')) return part
    return part
      .split('&', MAX_KEYS)
      .map((pair) => {
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
        if (value === encoded) return pair
        remember(secrets, value)
        try {
          remember(secrets, decodeURIComponent(value.replace(/\+/g, ' ')))
        } catch {
          // the raw value is remembered already
        }
        return `${pair.slice(0, eq)}=${encoded}`
      })
      .join('&')
  }

  function scrubUrl(url: string, secrets: Set<string>): string {
    const clean = scrubUrlCredentials(url, replacement, (value) => remember(secrets, value))
    const hash = clean.indexOf('#')
    const beforeHash = hash === -1 ? clean : clean.slice(0, hash)
    // OAuth's implicit flow puts the access token in the fragment
    const fragment = hash === -1 ? '' : `#${scrubParams(clean.slice(hash + 1), secrets)}`
    const q = beforeHash.indexOf('?')
    if (q === -1) return beforeHash + fragment
    return `${beforeHash.slice(0, q)}?${scrubParams(beforeHash.slice(q + 1), secrets)}${fragment}`
  }

  return {
    replacement,
    headers(headers, secrets) {
      const out: Record<string, string> = {}
      const names = Object.keys(headers)
      for (let i = 0; i < names.length && i < MAX_HEADERS; i++) {
        const name = names[i]!
        const raw = headers[name]
        const value = Array.isArray(raw) ? raw.join(', ') : String(raw ?? '')
        if (isSecretHeader(name)) {
          rememberHeaderSecrets(secrets, truncate(value, MAX_TEXT))
          out[name] = replacement
        } else {
          const shown = truncate(value, MAX_VALUE)
          out[name] = isUrlShaped(shown) ? scrubUrl(shown, secrets) : shown
        }
      }
      return out
    },
    fields(value, secrets) {
      return fieldsAt(value, secrets, 0, { nodes: MAX_NODES, chars: MAX_CHARS })
    },
    url(url, secrets) {
      return scrubUrl(url, secrets)
    },
    text(text, secrets) {
      const found = rememberer(secrets)
      let out = text.length > MAX_TEXT ? truncate(text, MAX_TEXT) : text
      out = scrubUrlCredentials(out, replacement, found)
      out = scrubSchemeTokens(out, replacement, found)
      out = scrubKeyValues(out, isSecretKey, replacement, found)
      out = scrubCardNumbers(out, replacement)
      for (const pattern of valuePatterns) out = out.replace(pattern, replacement)
      const matcher = secrets.size === 0 ? undefined : matcherOf(secrets)
      return matcher ? out.replace(matcher, replacement) : out
    },
  }
}

/** Applies `scrubber.text` to every string inside a JSON-safe value, in place of a copy; a card number sent as a number too. */
export function scrubStrings<T>(value: T, scrubber: Scrubber, secrets: ReadonlySet<string>): T {
  if (typeof value === 'string') return scrubber.text(value, secrets) as T
  if (typeof value === 'number')
    return (
      Number.isInteger(value) &&
      value > 1e12 &&
      scrubber.text(String(value), secrets) !== String(value)
        ? scrubber.replacement
        : value
    ) as T
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map((item) => scrubStrings(item, scrubber, secrets)) as T
  const out: Record<string, unknown> = {}
  for (const [key, item] of Object.entries(value)) out[key] = scrubStrings(item, scrubber, secrets)
  return out as T
}
