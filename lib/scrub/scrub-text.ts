/**
 * The passes that find secrets in free text: URL credentials, bearer and
 * Basic tokens, `name=value` pairs whose name is a secret's, card numbers,
 * and values already known to be secret. Each is one left-to-right scan with
 * bounded look-back and look-ahead, so its cost is linear in the text
 * whatever the text is.
 * @module
 */

/** Called with each secret value a pass finds, so it can be hidden elsewhere too. */
export type Remember = (value: string) => void

/** A lookup table of ASCII characters, read by char code: no one-character strings made in a hot loop. */
function charTable(chars: string): Uint8Array {
  const table = new Uint8Array(128)
  for (const c of chars) table[c.charCodeAt(0)] = 1
  return table
}

function inTable(table: Uint8Array, code: number): boolean {
  return code < 128 && table[code] === 1
}

const AUTHORITY_END = charTable('/?# \t\n\r"\'<>`\\')
const MAX_AUTHORITY = 1024
// a username alone this long is a token (`https://ghp_…@github.com`), not a user's name
const MIN_TOKEN_USER = 20

/** Hides the password of every `scheme://user:password@host` in the text, and a token used as the user. */
export function scrubUrlCredentials(text: string, replacement: string, remember: Remember): string {
  let out = ''
  let last = 0
  let from = 0
  for (let i = text.indexOf('://', from); i !== -1; i = text.indexOf('://', from)) {
    const start = i + 3
    const limit = Math.min(text.length, start + MAX_AUTHORITY)
    let end = start
    let at = -1
    let colon = -1
    while (end < limit && !inTable(AUTHORITY_END, text.charCodeAt(end))) {
      const code = text.charCodeAt(end)
      if (code === 64) at = end
      else if (code === 58 && colon === -1) colon = end
      end++
    }
    from = end > start ? end : start
    if (at === -1) continue
    const secretStart =
      colon !== -1 && colon < at ? colon + 1 : at - start >= MIN_TOKEN_USER ? start : -1
    const secret = secretStart === -1 ? '' : text.slice(secretStart, at)
    if (!secret || secret === replacement) continue
    remember(secret)
    out += text.slice(last, secretStart) + replacement
    last = at
  }
  return last === 0 ? text : out + text.slice(last)
}

// no look-behind, bounded whitespace: linear; a credential is long or has more than letters, so "Basic authentication" stays
const SCHEME_TOKEN = /\b(bearer|basic)(\s{1,8})([A-Za-z0-9._~+/=-]{6,})/gi

/** Hides the credential after `Bearer` or `Basic` wherever it appears. */
export function scrubSchemeTokens(text: string, replacement: string, remember: Remember): string {
  if (!/bearer|basic/i.test(text)) return text
  return text.replace(SCHEME_TOKEN, (whole, scheme: string, space: string, token: string) => {
    if (token.length < 20 && /^[A-Za-z]+$/.test(token)) return whole
    remember(token)
    return `${scheme}${space}${replacement}`
  })
}

const NAME_CHAR = charTable('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-')
const VALUE_END = charTable(' \t\n\r&;,}])"\'<>`')
// past this many secrets found, or separators looked at, in one text, the rest of it is cut rather than scanned pair by pair
const MAX_HITS = 100
const MAX_SEPARATORS = 4096
const MAX_KEY = 64
const MAX_VALUE = 512
const AUTH_SCHEME = /^(?:bearer|basic|digest|token|negotiate)\s+/i

/** The name that ends just before a separator at `sep`, allowing a closing quote and a few spaces: `"password":`, `token =`. */
function nameBefore(text: string, sep: number): string | undefined {
  let j = sep - 1
  while (j >= 0 && sep - j <= 3 && text[j] === ' ') j--
  if (text[j] === '"' || text[j] === "'") j--
  const end = j + 1
  while (j >= 0 && end - j <= MAX_KEY && inTable(NAME_CHAR, text.charCodeAt(j))) j--
  if (j >= 0 && inTable(NAME_CHAR, text.charCodeAt(j))) return undefined
  return end - j > 1 ? text.slice(j + 1, end) : undefined
}

/** Where the value after a separator at `sep` starts and ends, and whether it was quoted. */
function valueAfter(text: string, sep: number): { start: number; end: number; quoted: boolean } {
  let k = sep + 1
  while (k < text.length && k - sep <= 3 && text[k] === ' ') k++
  const quote = text[k] === '"' || text[k] === "'" ? text[k]! : ''
  if (quote) k++
  const scheme =
    quote || !/[bdtn]/i.test(text[k] ?? '') ? null : AUTH_SCHEME.exec(text.slice(k, k + 20))
  if (scheme) k += scheme[0].length
  const limit = Math.min(text.length, k + MAX_VALUE)
  let end = k
  if (quote) {
    const q = quote.charCodeAt(0)
    while (end < limit && text.charCodeAt(end) !== q && text.charCodeAt(end) !== 10) end++
  } else {
    while (end < limit && !inTable(VALUE_END, text.charCodeAt(end))) end++
  }
  return { start: k, end, quoted: quote !== '' }
}

// an unquoted value after "name: " is a credential only if it looks like one: "password: too short" is prose,
// and "Set-Cookie:%20x" in a URL path is no header
function looksLikeCredential(value: string): boolean {
  return value.length >= 6 && (/\d/.test(value) || value.length >= 16)
}

/**
 * Hides the value of every `name=value`, `"name":"value"`, `name: 'value'`
 * whose name is a secret's (query strings, JSON and `inspect` output quoted in
 * a message, connection strings). An unquoted value after a colon counts
 * only when it looks like a credential, so prose and stack frames keep theirs.
 */
export function scrubKeyValues(
  text: string,
  isSecret: (name: string) => boolean,
  replacement: string,
  remember: Remember,
): string {
  const encoded = encodeURIComponent(replacement)
  const parts: string[] = []
  let last = 0
  let separators = 0
  for (let sep = 0; sep < text.length; sep++) {
    const code = text.charCodeAt(sep)
    if (code !== 61 && code !== 58) continue
    if (++separators > MAX_SEPARATORS) return cutAt(parts, text, last, Math.max(last, sep))
    if (code === 58 && text.charCodeAt(sep + 1) === 47 && text.charCodeAt(sep + 2) === 47) continue
    if (sep < last) continue
    const name = nameBefore(text, sep)
    if (name === undefined || !isSecret(name)) continue
    const { start, end, quoted } = valueAfter(text, sep)
    const value = text.slice(start, end)
    if (!value || value === replacement || value === encoded || value.startsWith(replacement))
      continue
    if (code === 58 && !quoted && (text[sep + 1] !== ' ' || !looksLikeCredential(value))) continue
    remember(value)
    parts.push(text.slice(last, start), replacement)
    last = end
    if (parts.length >= MAX_HITS * 2) return cutAt(parts, text, last, last)
  }
  return last === 0 ? text : parts.join('') + text.slice(last)
}

/** What was scanned up to `at`, and a marker for the rest. */
function cutAt(parts: string[], text: string, last: number, at: number): string {
  return `${parts.join('')}${text.slice(last, at)}… [${text.length - at} more characters not shown]`
}

// 13 to 19 digits, maybe grouped by spaces or dashes, starting as Visa, Mastercard, Amex, Discover and the like do
const CARD = /(?<!\d)[2-6](?:[ -]?\d){12,18}(?!\d)/g

function passesLuhn(digits: string): boolean {
  let sum = 0
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2
    sum += d
  }
  return sum % 10 === 0
}

/** Hides card numbers (a Luhn-valid run of 13 to 19 digits) wherever they appear. */
export function scrubCardNumbers(text: string, replacement: string): string {
  if (!/\d{4}/.test(text)) return text
  return text.replace(CARD, (match) =>
    passesLuhn(match.replace(/[ -]/g, '')) ? replacement : match,
  )
}
