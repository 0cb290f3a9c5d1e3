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
 * Called as the request enters faultline: remembers whether the server asked
 * for errors to be thrown, then raises the flag for the catchers inside.
 */
export function enterCatcher(req: IncomingMessage): void {
  const flagged = req as Flagged
  if (flagged[THROW_ERRORS] === true) flagged[ENTERED_THROWING] = true
  else flagged[THROW_ERRORS] = true
}

/** Whether the request entered faultline already flagged to throw. */
export function enteredThrowing(req: IncomingMessage, sawEntry: boolean): boolean {
  const flagged = req as Flagged
  // without requestHandler() nobody raised the flag for us, so it can only be the server's
  return sawEntry ? flagged[ENTERED_THROWING] === true : flagged[THROW_ERRORS] === true
}
