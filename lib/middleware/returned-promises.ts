import { types } from 'node:util'
import { noticeOf, type NoticeChannel } from '../notices.js'
import { currentScope, type RequestScope } from './request-scope.js'

/*
 * Express 4's `Layer#handle_request` and `#handle_error` drop what a handler
 * returns, so the rejection of a promise a handler or middleware returned
 * reaches nobody but the process's `unhandledRejection` listeners, where
 * faultline could tie it to its request by the async context only. Express 5
 * hands that rejection to the layer's `next(err)`; this does the same on
 * Express 4, for requests that went through faultline's `requestHandler()`.
 *
 * Why the Layer prototype, not the layers of the app's routers: every layer of
 * an Express copy is an instance of its one Layer class, so patching that
 * class once covers routes and routers mounted under a path, layers added
 * after the first request and sub-apps made with the same copy, and costs
 * nothing to find on the request path (no walk of the stack, no wrapped
 * `layer.handle` to hide a router's `stack` from route-listing tools). It is
 * found once per app from the app's own router (recursively, so a `router`
 * package mounted inside is found too). Three things keep it from surprising
 * the app:
 * - a request outside faultline's scope (another app in the process) runs the
 *   method the prototype had, untouched;
 * - a method that is not Express's own (express-async-errors patching
 *   `handle_request`, an APM) is left as it is: whoever replaced it answers;
 * - whoever else hands the rejection on first (express-async-errors wraps
 *   `layer.handle` and calls `next(err)` itself, @awaitjs/express, a wrapper
 *   of the app's own) is seen through the `next` the handler was given, so
 *   the error is handed on once: one report, one answer.
 * Only native promises are followed: calling `then` on any other thenable may
 * run it (a query builder), and reading `then` may throw.
 */

type Handle = (...args: unknown[]) => unknown
type Next = (err?: unknown) => unknown

interface Layer {
  handle: Handle
  handle_request(req: unknown, res: unknown, next: Next): unknown
  handle_error(error: unknown, req: unknown, res: unknown, next: Next): unknown
}

// one mark per Layer class, registered: two copies of faultline patch a class once between them
const PATCHED = Symbol.for('faultline.layer-returned-promises')
// a bound on the walk of an app's routers, run once per app; real apps have far fewer layers
const MAX_LAYERS_WALKED = 10_000
// one walk per app, even when one requestHandler() serves two apps in turn
const appsSeen = new WeakSet<object>()

/** Makes the Layer classes an Express 4 app's routers use hand a returned promise's rejection to `next(err)`; once per class. */
export function handOnReturnedRejections(app: unknown, say: NoticeChannel): void {
  if (app === null || (typeof app !== 'object' && typeof app !== 'function') || appsSeen.has(app))
    return
  appsSeen.add(app)
  try {
    for (const proto of findLayerPrototypes(readOwn(app, '_router'))) patchLayerPrototype(proto)
  } catch (error) {
    say(
      noticeOf(
        'FAULTLINE_EXPRESS4_PROMISES_UNFOLLOWED',
        `could not follow promises returned to Express 4: ${error instanceof Error ? error.message : String(error)}`,
      ),
    )
  }
}

/** A property read without getters: `app.router` throws on Express 4, an app may define anything. */
function readOwn(value: unknown, key: string): unknown {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return undefined
  const descriptor = Object.getOwnPropertyDescriptor(value, key)
  return descriptor && 'value' in descriptor ? descriptor.value : undefined
}

/** The distinct Layer prototypes with Express 4's methods in a router, its routes and the routers mounted in it. */
function findLayerPrototypes(router: unknown): Set<object> {
  const found = new Set<object>()
  const seen = new Set<unknown>()
  const pending: unknown[] = [readOwn(router, 'stack')]
  let walked = 0
  while (pending.length > 0 && walked < MAX_LAYERS_WALKED) {
    const stack = pending.pop()
    if (!Array.isArray(stack) || seen.has(stack)) continue
    seen.add(stack)
    for (const layer of stack as unknown[]) {
      if (++walked > MAX_LAYERS_WALKED) break
      if (layer === null || typeof layer !== 'object') continue
      const proto = Object.getPrototypeOf(layer) as object | null
      if (proto && typeof readOwn(proto, 'handle_request') === 'function') found.add(proto)
      pending.push(
        readOwn(readOwn(layer, 'route'), 'stack'),
        readOwn(readOwn(layer, 'handle'), 'stack'),
      )
    }
  }
  return found
}

/** Whether a Layer method is Express 4's own (by what it checks), not one somebody replaced. */
function isExpressOwn(method: unknown, check: string): method is Handle {
  return typeof method === 'function' && Function.prototype.toString.call(method).includes(check)
}

function patchLayerPrototype(proto: object): void {
  if (Object.prototype.hasOwnProperty.call(proto, PATCHED)) return
  Object.defineProperty(proto, PATCHED, { value: true })
  const layer = proto as Layer
  const ownRequest = layer.handle_request
  const ownError = layer.handle_error
  if (isExpressOwn(ownRequest, 'fn.length > 3')) {
    layer.handle_request = function handle(this: Layer, req, res, next) {
      const scope = currentScope()
      if (!scope) return ownRequest.call(this, req, res, next)
      const fn = this.handle
      if (fn.length > 3) return next()
      callHandler(fn, next, scope, NO_ERROR, req, res)
    }
  }
  if (isExpressOwn(ownError, 'fn.length !== 4')) {
    layer.handle_error = function handle_error(this: Layer, error, req, res, next) {
      const scope = currentScope()
      if (!scope) return ownError.call(this, error, req, res, next)
      const fn = this.handle
      if (fn.length !== 4) return next(error)
      callHandler(fn, next, scope, error, req, res)
    }
  }
}

/** What a handler did with the `next` it was given: whether it called it, and with what. */
interface NextSeen {
  called: boolean
  value: unknown
}

// marks a request handler's call apart from an error handler's, whose error may be any value, `undefined` too
const NO_ERROR = Symbol('no error')

/** Calls a handler as Express 4 does (a throw goes to `next`), and hands a returned promise's rejection on as Express 5 does. */
function callHandler(
  fn: Handle,
  next: Next,
  scope: RequestScope,
  error: unknown,
  req: unknown,
  res: unknown,
): void {
  const seen: NextSeen = { called: false, value: undefined }
  const watchedNext = (err?: unknown): unknown => {
    seen.called = true
    seen.value = err
    return next(err)
  }
  let returned: unknown
  try {
    returned = error === NO_ERROR ? fn(req, res, watchedNext) : fn(error, req, res, watchedNext)
  } catch (err) {
    next(err)
    return
  }
  if (!types.isPromise(returned)) return
  returned.then(undefined, (reason: unknown) => {
    // a wrapper that also follows the promise reacts within the same few turns: it goes first
    setImmediate(handOn, reason, seen, next, scope)
  })
}

/** Hands a rejection to the layer's `next`, unless that `next` was called already; then to the request directly. */
function handOn(reason: unknown, seen: NextSeen, next: Next, scope: RequestScope): void {
  // someone handed this very rejection on (express-async-errors and the like): it was answered there
  if (seen.called && seen.value === reason) return
  // the chain went on already (`next()` before the rejection): a second `next` would answer twice
  if (seen.called) return scope.fail(reason, 'exact')
  try {
    // Express 5 hands on the same stand-in for a falsy rejection: `next(undefined)` would mean "carry on"
    next(reason || new Error('Rejected promise'))
  } catch (err) {
    scope.fail(err, 'exact')
  }
}
