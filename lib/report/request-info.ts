// Describing the request a report is about, and collecting the secrets it carries so the
// scrubber can hide them wherever else they turn up.
import type { Request } from 'express'
import { readField } from './error-status.js'
import { normalizePath } from './fingerprint.js'
import type { RequestInfo } from './report.js'
import type { Scrubber } from '../scrub/scrub.js'
import { truncate } from './serialize-error.js'

const MAX_BODY_CHARS = 10_000

/** The route pattern that matched, mounted path included. */
export function getRoute(req: Request): string | undefined {
  const path = readField(readField(req, 'route'), 'path')
  if (path === undefined) return undefined
  const base = req.baseUrl ?? ''
  if (base || typeof path !== 'string' || /[*?(]/.test(path)) return `${base}${String(path)}`
  const url = req.originalUrl ?? req.url
  // the common case, a route of the app itself matched as written: no mount point to find
  if (url === path || (url.startsWith(path) && url.charCodeAt(path.length) === 63)) return path
  // once a mounted router hands an error back, baseUrl is restored already: the URL still shows the mount point
  const urlSegments = url.split('?')[0]!.split('/').filter(Boolean)
  const mountDepth = urlSegments.length - path.split('/').filter(Boolean).length
  return mountDepth > 0
    ? `${normalizePath(`/${urlSegments.slice(0, mountDepth).join('/')}`)}${path}`
    : path
}

/** Whether the request came from a script on a page (X-Requested-With, or fetch's Sec-Fetch-Dest: empty). */
export function isXhrRequest(headers: Request['headers']): boolean {
  const requestedWith = headers['x-requested-with']
  if (typeof requestedWith === 'string' && requestedWith.toLowerCase() === 'xmlhttprequest')
    return true
  return headers['sec-fetch-dest'] === 'empty' && headers['sec-fetch-mode'] !== 'navigate'
}

function isInternalReferer(referer: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(referer).host.toLowerCase() === host.toLowerCase()
  } catch {
    return false
  }
}

function readBody(req: Request, scrubber: Scrubber, secrets: Set<string>): unknown {
  const body = readField(req, 'body')
  if (body === undefined || body === null) return undefined
  if (typeof body === 'string') return truncate(body, MAX_BODY_CHARS)
  if (Buffer.isBuffer(body)) return `[${body.length} bytes]`
  if (typeof body !== 'object') return undefined
  // one walk, no Object.keys here: a parsed body of 10,000 fields is listed once, by the scrubber
  const fields = scrubber.fields(body, secrets)
  return fields && typeof fields === 'object' && Object.keys(fields).length === 0
    ? undefined
    : fields
}

function readQuery(req: Request, scrubber: Scrubber, secrets: Set<string>): unknown {
  try {
    // Express 5 parses the query string on every read: without one, and none set by a middleware, there is nothing
    if (!Object.hasOwn(req, 'query') && !(req.originalUrl ?? req.url ?? '').includes('?'))
      return undefined
    const query = req.query
    return query && typeof query === 'object' && Object.keys(query).length > 0
      ? scrubber.fields(query, secrets)
      : undefined
  } catch {
    return undefined
  }
}

/** Remembers the secrets a request carries (headers, URL, query, body) without describing it: for compact reports and log lines. */
export function collectRequestSecrets(
  req: Request,
  scrubber: Scrubber,
  secrets: Set<string>,
): Record<string, string> {
  return scrubRequestLine(req, scrubber, secrets).headers
}

/** `collectRequestSecrets`, also giving the scrubbed URL it read on the way: a repeat shows it. */
export function scrubRequestLine(
  req: Request,
  scrubber: Scrubber,
  secrets: Set<string>,
): { headers: Record<string, string>; url: string } {
  const headers = scrubber.headers(req.headers, secrets)
  const url = scrubber.url(truncate(req.originalUrl ?? req.url ?? '', 4000), secrets)
  readQuery(req, scrubber, secrets)
  readBody(req, scrubber, secrets)
  return { headers, url }
}

/** The request as a report shows it; secret values found on the way are added to `secrets`. */
export function describeRequest(
  req: Request,
  scrubber: Scrubber,
  secrets: Set<string>,
  route?: string,
): RequestInfo {
  const headers = scrubber.headers(req.headers, secrets)
  const info: RequestInfo = {
    method: req.method,
    url: scrubber.url(truncate(req.originalUrl ?? req.url ?? '', 4000), secrets),
    headers,
    xhr: isXhrRequest(req.headers),
  }
  const matched = route ?? getRoute(req)
  if (matched) info.route = matched
  try {
    if (req.ip) info.ip = req.ip
  } catch {
    // a broken trust-proxy setting must not cost the report
  }
  if (headers['user-agent']) info.userAgent = headers['user-agent']
  const referer = headers.referer ?? headers.referrer
  if (referer) {
    info.referer = referer
    info.internalReferer = isInternalReferer(referer, req.headers.host)
  }
  const query = readQuery(req, scrubber, secrets)
  if (query !== undefined) info.query = query
  const body = readBody(req, scrubber, secrets)
  if (body !== undefined) info.body = body
  return info
}
