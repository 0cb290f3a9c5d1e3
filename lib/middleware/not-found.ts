import type { Request, RequestHandler, Response } from 'express'
import {
  answerWithPage,
  captureQuietly,
  checkRender,
  type ErrorHandlerOptions,
} from './error-handler.js'
import type { RequestLifecycle } from './lifecycle.js'
import { renderProductionPage, sendErrorPage } from '../pages/error-page.js'

/**
 * Options of `notFound()`: the same `render` as `errorHandler()`, so an app's
 * own look (or JSON shape) covers its 404s too.
 *
 * @example
 * ```ts
 * app.use(faultline.notFound({ render: ({ type, reason, incidentId }) => (type === 'json' ? JSON.stringify({ message: reason, code: 404, incidentId }) : undefined) }))
 * ```
 */
export type NotFoundOptions = ErrorHandlerOptions

/** The 404 of last resort, when preparing the normal page failed: status and incident id, as text. */
function sendPlainNotFound(req: Request, res: Response, id: string): void {
  try {
    if (res.headersSent) return
    const page = renderProductionPage('text', { status: 404, incidentId: id })
    sendErrorPage(req, res, 404, id, page, [])
  } catch {
    req.socket?.destroy()
  }
}

/**
 * The catch-all after the app's routes: a 404 answered like every other error
 * page (negotiated, with an incident id; the debug page in debug mode), never
 * Express's "Cannot GET". There is no error to hand on, so throw-errors does
 * not apply: the 404 is the answer, and it is reported as a warning when the
 * response closes, as any 404 is.
 */
export function createNotFoundHandler(
  lifecycle: RequestLifecycle,
  options: NotFoundOptions = {},
): RequestHandler {
  const render = checkRender('notFound', options)
  return function faultlineNotFound(req: Request, res: Response, next: (err?: unknown) => void) {
    // a response already under way is not ours to answer
    if (res.headersSent) return next()
    let id = ''
    try {
      res.statusCode = 404
      // the id is the request's own: the warning reported at close carries the one the page shows
      id = lifecycle.incidentId(req, res)
      answerWithPage(lifecycle, render, undefined, req, res, id)
    } catch (failure) {
      const captured = captureQuietly(lifecycle, failure, req)
      sendPlainNotFound(req, res, id || captured || 'unavailable')
    }
  }
}
