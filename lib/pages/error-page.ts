import accepts from 'accepts'
import { createHash } from 'node:crypto'
import type { Request, Response } from 'express'
import onFinished from 'on-finished'
import statuses from 'statuses'
import { DEBUG_STYLE } from './debug-page.js'
import { escapeHtml } from './html.js'

/** What a production error page may show: never anything from the exception but an exposable 4xx message. */
export interface ErrorPageContent {
  status: number
  incidentId: string
  /** A message the error marked safe to show (an `expose`d 4xx). */
  exposedMessage?: string
}

/**
 * The negotiated form of an error response.
 *
 * @example
 * ```ts
 * const ownShape: PageType[] = ['json'] // API clients; browsers and scripts keep faultline's page
 * app.use(faultline.errorHandler({ render: ({ type, status, incidentId }) =>
 *   ownShape.includes(type) ? JSON.stringify({ code: status, incidentId }) : undefined }))
 * ```
 */
export type PageType = 'html' | 'json' | 'text'

/** A body ready to send, and the CSP it needs when it is HTML. */
export interface PreparedPage {
  type: PageType
  body: string
  csp: string
}

/** Response header that carries the incident id, so an API client can quote it too. */
export const INCIDENT_HEADER = 'X-Incident-Id'

const STYLE =
  'body{font:16px/1.5 system-ui,sans-serif;color:#1d2330;background:#f6f7f9;margin:0}main{max-width:36rem;margin:12vh auto;padding:2rem;background:#fff;border-radius:8px;box-shadow:0 1px 4px #0002}h1{font-size:1.5rem;margin:0 0 1rem}code{font-size:1.1rem;background:#eef0f4;padding:.15rem .4rem;border-radius:4px}.muted{color:#5b6472}'

// each page's only style is pinned by hash, so the CSP can forbid every other source
function strictCsp(style: string): string {
  return `default-src 'none'; style-src 'sha256-${createHash('sha256').update(style).digest('base64')}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`
}

/** The CSP of faultline's production page. */
export const PRODUCTION_CSP = strictCsp(STYLE)
/** The CSP of faultline's debug page. */
export const DEBUG_CSP = strictCsp(DEBUG_STYLE)
/** The CSP of an app's own error page, unless the app sets one: its own styles and images, never a script. */
export const CUSTOM_CSP =
  "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// headers that described the body the app meant to send, not the error page (lower case, as getHeaderNames gives them)
const STALE_HEADERS = new Set([
  'content-encoding',
  'content-language',
  'content-range',
  'content-disposition',
  'content-location',
  'etag',
  'last-modified',
  'expires',
])
const CONTENT_TYPES = {
  html: 'text/html; charset=utf-8',
  json: 'application/json; charset=utf-8',
  text: 'text/plain; charset=utf-8',
}

/** The reason phrase of a status. */
export function reasonPhrase(status: number): string {
  return statuses.message[status] ?? 'Error'
}

function renderHtml(page: ErrorPageContent): string {
  const title = `${page.status} ${reasonPhrase(page.status)}`
  const detail = page.exposedMessage
    ? `<p>${escapeHtml(page.exposedMessage)}</p>`
    : page.status >= 500
      ? '<p>Something went wrong on our side. It has been reported.</p>'
      : '<p>The request could not be served.</p>'
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body><main><h1>${escapeHtml(title)}</h1>${detail}<p class="muted">If you contact support, quote incident <code>${escapeHtml(page.incidentId)}</code>.</p></main></body></html>\n`
}

/** The production page in the negotiated form: status, reason phrase, incident id. */
export function renderProductionPage(type: PageType, page: ErrorPageContent): PreparedPage {
  const reason = reasonPhrase(page.status)
  if (type === 'html') return { type, body: renderHtml(page), csp: PRODUCTION_CSP }
  if (type === 'json') {
    return {
      type,
      csp: PRODUCTION_CSP,
      body: `${JSON.stringify({ error: { status: page.status, message: page.exposedMessage ?? reason, incident: page.incidentId } })}\n`,
    }
  }
  return {
    type,
    csp: PRODUCTION_CSP,
    body: `${page.status} ${reason}\n${page.exposedMessage ? `${page.exposedMessage}\n` : ''}Incident: ${page.incidentId}\n`,
  }
}

/** Picks HTML for browsers, JSON for API clients and XHR, plain text otherwise (no Accept header included). */
export function negotiateType(req: Request, xhr: boolean): PageType {
  if (xhr) return 'json'
  // every browser sends Accept: a client that sends none is a script or a tool, and gets text
  if (!req.headers.accept) return 'text'
  const type = accepts(req).type(['html', 'json', 'text'])
  return type === 'html' || type === 'json' ? type : 'text'
}

/** Sets a header, or leaves it out if Node refuses it: the page matters more than any one header. */
function trySetHeader(res: Response, name: string, value: string | number | string[]): void {
  try {
    res.setHeader(name, value)
  } catch {
    // a value Node refuses (checked before, but a Proxy can change its mind): the page goes without it
  }
}

/**
 * Sends an error page the way Express's final handler would, keeping its
 * conventions: the error's own headers, the reason phrase, the app's headers
 * that still apply, no body for HEAD, and an unread request body drained
 * first so the client is not cut off mid-upload. It never throws: a header
 * Node refuses is left out, and a response that cannot be written at all is
 * cut off.
 */
export function sendErrorPage(
  req: Request,
  res: Response,
  status: number,
  incidentId: string,
  page: PreparedPage,
  extraHeaders: Array<[string, string | string[]]>,
): void {
  const write = () => {
    try {
      if (res.headersSent) return
      res.statusCode = status
      if (req.httpVersionMajor < 2) res.statusMessage = reasonPhrase(status)
      // the few headers the response has, rather than eight removals of headers it mostly lacks
      for (const name of res.getHeaderNames()) if (STALE_HEADERS.has(name)) res.removeHeader(name)
      for (const [name, value] of extraHeaders) trySetHeader(res, name, value)
      if (
        page.type === 'html' &&
        !(page.csp === CUSTOM_CSP && res.hasHeader('Content-Security-Policy'))
      )
        res.setHeader('Content-Security-Policy', page.csp)
      res.setHeader('X-Content-Type-Options', 'nosniff')
      res.setHeader('Cache-Control', 'no-store')
      // notFound() and a hand-written error set it already, for the app's own page
      if (res.getHeader(INCIDENT_HEADER) !== incidentId) res.setHeader(INCIDENT_HEADER, incidentId)
      res.setHeader('Content-Type', CONTENT_TYPES[page.type])
      res.setHeader('Content-Length', Buffer.byteLength(page.body, 'utf8'))
      res.end(req.method === 'HEAD' ? undefined : page.body, 'utf8')
    } catch {
      // nothing sane can be sent any more: a cut connection beats a hung one
      if (!res.writableEnded) req.socket?.destroy()
    }
  }
  try {
    // a request without a body has nothing to drain: answer at once
    if (
      onFinished.isFinished(req) ||
      (req.headers['content-length'] === undefined &&
        req.headers['transfer-encoding'] === undefined)
    ) {
      write()
      req.resume()
      return
    }
    req.unpipe()
    onFinished(req, write)
    req.resume()
  } catch {
    write()
  }
}
