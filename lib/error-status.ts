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
 */
export function getErrorStatus(err: unknown): number | undefined {
  return toErrorStatus(readField(err, 'status')) ?? toErrorStatus(readField(err, 'statusCode'))
}

/**
 * The status an error response gets: the error's own, else a 4xx/5xx the app
 * already set on the response, else 500.
 */
export function getResponseStatus(err: unknown, currentStatus: number): number {
  return getErrorStatus(err) ?? toErrorStatus(currentStatus) ?? 500
}

/** Header names a client may never be handed from an error object. */
const FORBIDDEN_ERROR_HEADERS = new Set([
  'content-length',
  'content-type',
  'content-encoding',
  'transfer-encoding',
  'connection',
  'set-cookie',
])

/**
 * `err.headers`, honoured only when the error carries a valid status (the
 * convention http-errors and finalhandler share). Values holding CR or LF are
 * dropped: a header must never be a way to inject another one.
 */
export function getErrorHeaders(err: unknown): Array<[string, string]> {
  if (getErrorStatus(err) === undefined) return []
  const headers = readField(err, 'headers')
  if (headers === null || typeof headers !== 'object') return []
  const out: Array<[string, string]> = []
  let keys: string[]
  try {
    keys = Object.keys(headers)
  } catch {
    return []
  }
  for (const name of keys) {
    const value = readField(headers, name)
    if (typeof value !== 'string' && typeof value !== 'number') continue
    const text = String(value)
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || /[\r\n\0]/.test(text)) continue
    if (FORBIDDEN_ERROR_HEADERS.has(name.toLowerCase())) continue
    out.push([name, text])
  }
  return out
}

/** Whether an error says its message is safe to show to the client (http-errors' `expose`), which only a 4xx may be. */
export function isExposable(err: unknown): boolean {
  const status = getErrorStatus(err)
  return status !== undefined && status < 500 && readField(err, 'expose') === true
}
