import type { IncomingMessage } from 'node:http'

/**
 * The server-side, per-request flag that tells error catchers not to catch
 * (the WSGI world's `x-wsgiorg.throw_errors`). Set it on the request object,
 * never from anything the client sends. A registered symbol, so two copies of
 * faultline in one app, or another library, agree on it without importing
 * each other.
 *
 * @example
 * ```ts
 * app.use((req, _res, next) => {
 *   if (process.env.E2E) (req as any)[THROW_ERRORS] = true
 *   next()
 * })
 * ```
 */
export const THROW_ERRORS: unique symbol = Symbol.for('faultline.throw_errors') as never

// what the flag said when the request entered faultline: it is checked on entry, not later
const ENTERED_THROWING = Symbol('faultline.entered-throwing')

type Flagged = IncomingMessage & { [THROW_ERRORS]?: unknown; [ENTERED_THROWING]?: boolean }

/**
 * Whether a catcher entered now should let errors through. Inside an app
 * behind faultline's `requestHandler()` this is true, so an app's own error
 * middleware that respects it hands errors on to faultline, which catches
 * them in one place.
 *
 * @example
 * ```ts
 * app.use((err, req, res, next) => {
 *   if (shouldThrow(req)) return next(err)
 *   res.status(500).render('oops')
 * })
 * ```
 */
export function shouldThrow(req: IncomingMessage): boolean {
  return (req as Flagged)[THROW_ERRORS] === true
}

/**
 * Raises the flag for every request of an app, once, on its request
 * prototype: inside the app, `req[THROW_ERRORS]` reads true without a write
 * per request. Setting the flag on a request still makes it the request's own.
 */
export function raiseFlagOnPrototype(proto: object): void {
  if (Object.prototype.hasOwnProperty.call(proto, THROW_ERRORS)) return
  Object.defineProperty(proto, THROW_ERRORS, {
    configurable: true,
    get: () => true,
    set(this: object, value: unknown) {
      Object.defineProperty(this, THROW_ERRORS, {
        value,
        writable: true,
        configurable: true,
        enumerable: false,
      })
    },
  })
}

/**
 * Called as the request enters faultline: only a flag the server set on this
 * very request (its own property) means "do not catch"; it is remembered now,
 * because the flag is checked on entry, not later.
 */
export function enterCatcher(req: IncomingMessage): void {
  if (
    Object.prototype.hasOwnProperty.call(req, THROW_ERRORS) &&
    (req as Flagged)[THROW_ERRORS] === true
  )
    (req as Flagged)[ENTERED_THROWING] = true
}

/** Whether the request entered faultline already flagged to throw. */
export function enteredThrowing(req: IncomingMessage, sawEntry: boolean): boolean {
  const flagged = req as Flagged
  if (sawEntry) return flagged[ENTERED_THROWING] === true
  // without requestHandler() nobody raised the flag for the app, so an own flag can only be the server's
  return Object.prototype.hasOwnProperty.call(req, THROW_ERRORS) && flagged[THROW_ERRORS] === true
}
