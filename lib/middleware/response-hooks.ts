import type { Response } from 'express'
import { getState } from './request-state.js'
import { keepBodySample } from './stack-notice.js'
import { INCIDENT_HEADER } from '../pages/error-page.js'
import { createIncidentId } from '../report/incident-id.js'

type WriteHead = (this: Response, ...args: unknown[]) => Response
type End = (this: Response, ...args: unknown[]) => Response

/** What watches a response (a request lifecycle), as the hooks read it: by shape, another copy of faultline may have put it there. */
export interface ResponseWatcher {
  /** Whether a 5xx body is sampled for the stack-trace check. */
  readonly samplesErrorBodies: boolean
}

// marks faultline's wrappers, so a sub-app's own requestHandler() does not wrap the response twice
const HOOKED = Symbol.for('faultline.response-hooks')
// the watchers of a response, in the order they came: one, or an array of several (an app's and a sub-app's)
const WATCHERS = Symbol.for('faultline.response-watchers')

type Watched = Response & { [WATCHERS]?: ResponseWatcher | ResponseWatcher[] }

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

function firstWatcher(res: Response): ResponseWatcher | undefined {
  const watchers = (res as Watched)[WATCHERS]
  return Array.isArray(watchers) ? watchers[0] : watchers
}

/** Whether the response's first watcher samples 5xx bodies (it decides, as the first to hook the response did). */
function samplesBody(res: Response): boolean {
  return firstWatcher(res)?.samplesErrorBodies === true
}

/** Adds a watcher to the response: one property per response, whoever watches it. */
export function addWatcher(res: Response, watcher: ResponseWatcher): void {
  const own = res as Watched
  const watchers = own[WATCHERS]
  if (watchers === undefined) own[WATCHERS] = watcher
  else if (Array.isArray(watchers)) watchers.push(watcher)
  else own[WATCHERS] = [watchers, watcher]
}

/** Whether `watcher` watches the response already. */
export function isWatchedBy(res: Response, watcher: ResponseWatcher): boolean {
  const watchers = (res as Watched)[WATCHERS]
  return watchers === watcher || (Array.isArray(watchers) && watchers.includes(watcher))
}

/**
 * The hooks on Express's own response prototype, shared by every app of that
 * copy of Express (sub-apps included, which swap in their own `app.response`
 * while they run): installed once, they cost a watched response nothing to
 * set up, and an unwatched one (an app without faultline) one property read.
 */
function installOnPrototype(proto: object): void {
  const parent = Object.getPrototypeOf(proto) as { writeHead: WriteHead; end: End }
  Object.defineProperty(proto, HOOKED, { value: true })
  function faultlineWriteHead(this: Response, ...args: unknown[]): Response {
    if ((this as Watched)[WATCHERS] !== undefined) stampQuietly(this, args[0])
    return parent.writeHead.apply(this, args)
  }
  // an `end` that shows a 5xx body to the stack-trace check first; everything else passes straight through
  function faultlineEnd(this: Response, ...args: unknown[]): Response {
    if (this.statusCode >= 500 && samplesBody(this)) keepBodySample(this, args[0], args[1])
    return parent.end.apply(this, args)
  }
  for (const [name, value] of [
    ['writeHead', faultlineWriteHead],
    ['end', faultlineEnd],
  ] as const) {
    Object.defineProperty(value, HOOKED, { value: true })
    Object.defineProperty(proto, name, { configurable: true, writable: true, value })
  }
}

/**
 * Express's response prototype under the app's (`app.response` inherits it):
 * the nearest object up the response's chain that owns `send` and
 * `sendStatus`; undefined for a response Express did not make.
 */
function expressResponseOf(res: Response): object | undefined {
  let proto = Object.getPrototypeOf(res) as object | null
  for (let depth = 0; proto !== null && depth < 3; depth++) {
    if (Object.hasOwn(proto, 'send') && Object.hasOwn(proto, 'sendStatus')) return proto
    proto = Object.getPrototypeOf(proto) as object | null
  }
  return undefined
}

// an app's responses share one prototype: the chain is looked at once per prototype, not per response
let lastProto: object | undefined
let lastHooked = false

/** Whether the response's hooks are on its prototype (installed now if needed). */
function hookedOnPrototype(res: Response): boolean {
  const proto = Object.getPrototypeOf(res) as object
  if (proto === lastProto) return lastHooked
  const shared = expressResponseOf(res)
  if (shared && !Object.hasOwn(shared, HOOKED)) installOnPrototype(shared)
  lastProto = proto
  lastHooked = shared !== undefined
  return lastHooked
}

/** `res.writeHead` wrapped on the response itself: when its prototype is not Express's, or over another middleware's wrapper. */
function wrapOwnWriteHead(previous: WriteHead): WriteHead {
  const wrapped = function faultlineWriteHeadOver(this: Response, ...args: unknown[]) {
    stampQuietly(this, args[0])
    return previous.apply(this, args)
  }
  Object.defineProperty(wrapped, HOOKED, { value: true })
  return wrapped
}

function wrapOwnEnd(previous: End): End {
  const wrapped = function faultlineEndOver(this: Response, ...args: unknown[]) {
    if (this.statusCode >= 500) keepBodySample(this, args[0], args[1])
    return previous.apply(this, args)
  }
  Object.defineProperty(wrapped, HOOKED, { value: true })
  return wrapped
}

function isHooked(fn: unknown): boolean {
  return typeof fn === 'function' && (fn as unknown as Record<symbol, unknown>)[HOOKED] === true
}

/** The hooks on the response itself, for a response whose prototype is not Express's. */
function hookOwn(res: Response, sampleErrorBodies: boolean): void {
  const own = res as unknown as Record<string, unknown>
  if (!isHooked(own.writeHead)) own.writeHead = wrapOwnWriteHead(own.writeHead as WriteHead)
  if (sampleErrorBodies && !isHooked(own.end)) own.end = wrapOwnEnd(own.end as End)
}

/**
 * Watches a response as `requestHandler()` first sees it: `writeHead` stamps
 * the incident id on a 4xx or 5xx, and, when the first watcher samples error
 * bodies, `end` keeps the start of a 5xx body for the stack-trace check. An
 * own `writeHead` or `end` already there (a middleware mounted before
 * faultline, such as on-headers) calls through to faultline's on Express's
 * prototype, or is wrapped when the response does not inherit Express's.
 */
export function hookResponse(res: Response, watcher: ResponseWatcher): void {
  addWatcher(res, watcher)
  // an own wrapper installed before faultline may hold the `writeHead` from before the hooks: it is wrapped too
  if (hookedOnPrototype(res) && !Object.hasOwn(res, 'writeHead') && !Object.hasOwn(res, 'end'))
    return
  hookOwn(res, watcher.samplesErrorBodies)
}
