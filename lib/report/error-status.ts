/**
 * Reading HTTP facts off thrown values by shape, never by class: an error
 * from another package (http-errors, body-parser, a router) is recognised by
 * its fields, so two copies of a library in node_modules still agree.
 */

/** Reads a property without letting a throwing getter or a Proxy escape. */
export function readField(value: unknown, key: string): unknown {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return undefined
  try {
    return (value as Record<string, unknown>)[key]
  } catch {
    return undefined
  }
}

function toErrorStatus(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 400 && value <= 599
    ? value
    : undefined
}

/**
 * The HTTP status an error asks for: `status`, then `statusCode`, counted only
 * when it is an integer from 400 to 599.
 *
 * @example
 * ```ts
 * getErrorStatus({ statusCode: 404 })  // 404
 * getErrorStatus({ status: 200 })      // undefined: not an error status
 * getErrorStatus(new Error('boom'))    // undefined
 * ```
 */
export function getErrorStatus(err: unknown): number | undefined {
  return toErrorStatus(readField(err, 'status')) ?? toErrorStatus(readField(err, 'statusCode'))
}

/**
 * The status an error response gets: the error's own, else a 4xx/5xx the app
 * already set on the response, else 500.
 *
 * @example
 * ```ts
 * getResponseStatus({ status: 409 }, 200)      // 409
 * getResponseStatus(new Error('boom'), 503)    // 503: the app set it
 * getResponseStatus(new Error('boom'), 200)    // 500
 * ```
 */
export function getResponseStatus(err: unknown, currentStatus: number): number {
  return getErrorStatus(err) ?? toErrorStatus(currentStatus) ?? 500
}

/** Header names a client may never be handed from an error object: framing, cookies, and what the page itself must decide. */
const FORBIDDEN_ERROR_HEADERS = new Set([
  'content-length',
  'content-type',
  'content-encoding',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'trailer',
  'te',
  'proxy-connection',
  'set-cookie',
  'content-security-policy',
  'x-content-type-options',
  'cache-control',
  'x-incident-id',
])

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/
// what Node's setHeader accepts (tab, visible ASCII, Latin-1), without its exception
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/
const MAX_HEADERS = 32
const MAX_VALUE_CHARS = 4096
const MAX_TOTAL_CHARS = 8192

/** One header value as Node would send it, or undefined when Node would refuse it (or it is absurdly long). */
function toHeaderValue(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  if (typeof value !== 'string' || value.length > MAX_VALUE_CHARS || !HEADER_VALUE.test(value))
    return undefined
  return value
}

/** A header's values: a string or number, or an array of them with the bad members left out. */
function toHeaderValues(value: unknown): string[] {
  if (!Array.isArray(value)) {
    const one = toHeaderValue(value)
    return one === undefined ? [] : [one]
  }
  const out: string[] = []
  let length: number
  try {
    length = Math.min(value.length, MAX_HEADERS)
  } catch {
    return out
  }
  for (let i = 0; i < length; i++) {
    const member = toHeaderValue(readField(value, String(i)))
    if (member !== undefined) out.push(member)
  }
  return out
}

/**
 * `err.headers`, honoured only when the error carries a valid status (the
 * convention http-errors and finalhandler share). Each header is checked on
 * its own against what Node's `setHeader` accepts, so one bad header (a
 * control character, a character past Latin-1, a bad name, a throwing
 * getter, an array with a bad member) is left out and the good ones stay;
 * none of them can make the error page itself fail.
 */
export function getErrorHeaders(err: unknown): Array<[string, string | string[]]> {
  if (getErrorStatus(err) === undefined) return []
  const headers = readField(err, 'headers')
  if (headers === null || typeof headers !== 'object') return []
  const out: Array<[string, string | string[]]> = []
  let keys: string[]
  try {
    keys = Object.keys(headers)
  } catch {
    return []
  }
  let total = 0
  for (const name of keys) {
    if (out.length >= MAX_HEADERS) break
    if (!HEADER_NAME.test(name) || FORBIDDEN_ERROR_HEADERS.has(name.toLowerCase())) continue
    const raw = readField(headers, name)
    const values = toHeaderValues(raw)
    const size = values.reduce((sum, v) => sum + v.length, name.length)
    if (values.length === 0 || total + size > MAX_TOTAL_CHARS) continue
    total += size
    out.push([name, Array.isArray(raw) ? values : values[0]!])
  }
  return out
}

/** Whether an error says its message is safe to show to the client (http-errors' `expose`), which only a 4xx may be. */
export function isExposable(err: unknown): boolean {
  const status = getErrorStatus(err)
  return status !== undefined && status < 500 && readField(err, 'expose') === true
}
