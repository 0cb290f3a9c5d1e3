import type { ErrorRequestHandler } from 'express'
import { getErrorHeaders, getResponseStatus, isExposable, readField } from './error-status.js'
import { negotiateType, sendErrorPage } from './error-page.js'
import type { Faultline } from './faultline.js'
import { isXhrRequest } from './report.js'

/**
 * The last middleware, in place of Express's final handler: records the error
 * for the request's report, then answers with the production error page. It
 * keeps the final handler's conventions, and never writes a page once headers
 * are out: the connection is cut, so the client sees a truncated response.
 */
export function createErrorHandler(faultline: Faultline): ErrorRequestHandler {
  return function faultlineErrorHandler(err, req, res, next) {
    const { id, clientAbort } = faultline.record(req, res, err)
    if (clientAbort) {
      // the client is gone: there is nobody to send a page to
      if (!req.socket.destroyed) req.socket.destroy()
      return
    }
    if (faultline.throwErrors) return next(err)
    if (res.headersSent) {
      if (!res.writableEnded) req.socket.destroy()
      return
    }
    const status = getResponseStatus(err, res.statusCode)
    const message = isExposable(err) ? readField(err, 'message') : undefined
    sendErrorPage(
      req,
      res,
      { status, incidentId: id, ...(typeof message === 'string' && message ? { exposedMessage: message.slice(0, 1000) } : {}) },
      negotiateType(req, isXhrRequest(req.headers)),
      getErrorHeaders(err),
    )
  }
}
