import type { Response } from 'express'
import { getState } from './request-state.js'
import { keepBodySample } from './stack-notice.js'
import { INCIDENT_HEADER } from '../pages/error-page.js'
import { createIncidentId } from '../report/incident-id.js'

type WriteHead = (this: Response, ...args: unknown[]) => Response
type End = (this: Response, ...args: unknown[]) => Response

// marks faultline's wrappers, so a sub-app's own requestHandler() does not wrap the response twice
const HOOKED = Symbol.for('faultline.response-hooks')

/**
 * Gives a 4xx or 5xx the request's incident id in `X-Incident-Id` as its
 * headers go out, unless it has the header already: whoever answers it (the
 * app's own 404, its own error middleware, a router's), the id the client
 * sees is the one its report carries at close.
 */
function stampIncident(res: Response, code: unknown): void {
  const status = typeof code === 'number' ? code : Number(code)
  if (!(status >= 400) || res.headersSent || res.hasHeader(INCIDENT_HEADER)) return
  const state = getState(res.req)
  // a request to the incident view is never reported: an id would point nowhere
  if (state.quiet) return
  state.id ??= createIncidentId()
  res.setHeader(INCIDENT_HEADER, state.id)
}

function stampQuietly(res: Response, code: unknown): void {
  try {
    stampIncident(res, code)
  } catch {
    // a header Node refuses or a frozen response: the app's answer goes out regardless
  }
}

// the common case, nothing wrapped the response before faultline: one shared function, no closure per request
function faultlineWriteHead(this: Response, ...args: unknown[]): Response {
  stampQuietly(this, args[0])
  const inherited = (Object.getPrototypeOf(this) as { writeHead: WriteHead }).writeHead
  return inherited.apply(this, args)
}
Object.defineProperty(faultlineWriteHead, HOOKED, { value: true })

/** `res.writeHead` wrapped over another middleware's own wrapper (on-headers, installed before faultline). */
function wrapOwnWriteHead(previous: WriteHead): WriteHead {
  const wrapped = function faultlineWriteHeadOver(this: Response, ...args: unknown[]) {
    stampQuietly(this, args[0])
    return previous.apply(this, args)
  }
  Object.defineProperty(wrapped, HOOKED, { value: true })
  return wrapped
}

function isHooked(fn: unknown): boolean {
  return typeof fn === 'function' && (fn as unknown as Record<symbol, unknown>)[HOOKED] === true
}

// an `end` that shows a 5xx body to the stack-trace check first; everything else passes straight through
function faultlineEnd(this: Response, ...args: unknown[]): Response {
  if (this.statusCode >= 500) keepBodySample(this, args[0], args[1])
  const inherited = (Object.getPrototypeOf(this) as { end: End }).end
  return inherited.apply(this, args)
}
Object.defineProperty(faultlineEnd, HOOKED, { value: true })

function wrapOwnEnd(previous: End): End {
  const wrapped = function faultlineEndOver(this: Response, ...args: unknown[]) {
    if (this.statusCode >= 500) keepBodySample(this, args[0], args[1])
    return previous.apply(this, args)
  }
  Object.defineProperty(wrapped, HOOKED, { value: true })
  return wrapped
}

/**
 * Hooks a response as `requestHandler()` first sees it: `writeHead` stamps
 * the incident id on a 4xx or 5xx, and, with `sampleErrorBodies`, `end`
 * keeps the start of a 5xx body for the stack-trace check. An own
 * `writeHead` or `end` already there (a middleware mounted before faultline,
 * such as on-headers) is kept and called.
 */
export function hookResponse(res: Response, sampleErrorBodies: boolean): void {
  const own = res as unknown as Record<string, unknown>
  if (!Object.hasOwn(res, 'writeHead')) own.writeHead = faultlineWriteHead
  else if (!isHooked(own.writeHead)) own.writeHead = wrapOwnWriteHead(own.writeHead as WriteHead)
  if (!sampleErrorBodies) return
  if (!Object.hasOwn(res, 'end')) own.end = faultlineEnd
  else if (!isHooked(own.end)) own.end = wrapOwnEnd(own.end as End)
}
