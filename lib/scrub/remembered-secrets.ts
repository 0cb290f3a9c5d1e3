/**
 * The secrets one report has hidden so far, and how they are found again: a
 * value hidden under a secret field, header or URL parameter is remembered so
 * that the same value is hidden wherever else it appears (a message quoting
 * the token, a stack, another header). The memory is its own concern, apart
 * from the walks over headers, fields and URLs in scrub.ts, because its rules
 * (what is distinctive enough to hide in free text, how many to keep) are
 * what keeps a report readable while nothing leaks.
 */
import { readField } from '../report/error-status.js'
import { MAX_DEPTH, MAX_KEYS, MAX_VALUE } from './limits.js'

// secrets remembered per report, and how long and varied one must be to be hidden in free text:
// `?token=undefined` must not blank every "undefined" in the message
const MAX_SECRETS = 100
const MIN_SECRET = 6
const MIN_LETTERS_SECRET = 16
const MIN_PART = 6

/**
 * Whether a value is distinctive enough to be hidden wherever it appears, not
 * just where it was found: six characters with a digit or a symbol, or
 * sixteen letters. `?token=undefined` or `?api_key=TypeError` must not blank
 * those words out of the message.
 */
function isMemorable(value: string): boolean {
  if (value.length < MIN_SECRET) return false
  return value.length >= MIN_LETTERS_SECRET || /[^A-Za-z]/.test(value)
}

export function remember(secrets: Set<string>, value: string): void {
  if (secrets.size < MAX_SECRETS && value.length <= MAX_VALUE && isMemorable(value))
    secrets.add(value)
}

export function rememberer(secrets: ReadonlySet<string>): (value: string) => void {
  return secrets instanceof Set ? (value) => remember(secrets as Set<string>, value) : () => {}
}

/**
 * Remembers a secret header's value and the parts of it that may be quoted
 * alone elsewhere: cookie values, a bearer token, Basic credentials decoded.
 */
export function rememberHeaderSecrets(secrets: Set<string>, value: string): void {
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
  for (const pair of value.split(/;\s*/, MAX_KEYS)) {
    const eq = pair.indexOf('=')
    const part = eq === -1 ? pair : pair.slice(eq + 1)
    if (part.length >= MIN_PART) remember(secrets, part)
  }
}

/** Every string and number under a secret-named field, so a nested secret (`credentials.password`) is remembered too. */
export function rememberLeaves(
  secrets: Set<string>,
  value: unknown,
  budget: { nodes: number },
  depth = 0,
): void {
  if (budget.nodes-- <= 0) return
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint')
    return remember(secrets, String(value))
  if (value === null || typeof value !== 'object' || depth >= MAX_DEPTH) return
  try {
    for (const key of Object.keys(value).slice(0, MAX_KEYS))
      rememberLeaves(secrets, readField(value, key), budget, depth + 1)
  } catch {
    // an unreadable object has nothing to remember
  }
}

// one alternation of the remembered secrets, longest first so a token is not half-replaced through a shorter
// secret inside it; built once per set of secrets, then every string of the report is one regex pass
const matchers = new WeakMap<ReadonlySet<string>, { size: number; pattern: RegExp | undefined }>()

export function matcherOf(secrets: ReadonlySet<string>): RegExp | undefined {
  const cached = matchers.get(secrets)
  if (cached && cached.size === secrets.size) return cached.pattern
  const literals = [...secrets].filter(isMemorable).sort((a, b) => b.length - a.length)
  const pattern = literals.length
    ? new RegExp(literals.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g')
    : undefined
  matchers.set(secrets, { size: secrets.size, pattern })
  return pattern
}
