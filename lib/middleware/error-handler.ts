import type { ErrorRequestHandler, Request, Response } from 'express'
import { renderDebugHtml, renderDebugJson, renderDebugText } from '../pages/debug-page.js'
import {
  getErrorHeaders,
  getResponseStatus,
  isExposable,
  readField,
} from '../report/error-status.js'
import {
  CUSTOM_CSP,
  DEBUG_CSP,
  negotiateType,
  reasonPhrase,
  renderProductionPage,
  sendErrorPage,
  type PageType,
  type PreparedPage,
} from '../pages/error-page.js'
import type { Report } from '../report/report.js'
import { isXhrRequest } from '../report/request-info.js'
import type { RequestLifecycle } from './lifecycle.js'
import { enteredThrowing } from './throw-errors.js'

/**
 * What an app's own error page is rendered from.
 *
 * @example
 * ```ts
 * const render = (ctx: ErrorPageContext) => (ctx.type === 'html' ? `<h1>${ctx.status} ${ctx.reason}</h1><p>${ctx.incidentId}</p>` : undefined)
 * ```
 */
export interface ErrorPageContext {
  status: number
  /** The status's reason phrase ("Not Found"). */
  reason: string
  /** The incident id to show the user. */
  incidentId: string
  /** The negotiated form: return HTML, JSON or text accordingly. */
  type: PageType
  debug: boolean
  /** A message the error marked safe to show (an exposed 4xx). */
  exposedMessage?: string
  /** The error itself, to pick a page by; never print its message or stack in production. */
  error: unknown
  req: Request
  /** In debug mode, the scrubbed report. */
  report?: Report
}

/**
 * Options of `errorHandler()`.
 *
 * @example
 * ```ts
 * app.use(faultline.errorHandler({ render: ({ type, status, incidentId }) => (type === 'html' ? views.error({ status, incidentId }) : undefined) }))
 * ```
 */
export interface ErrorHandlerOptions {
  /**
   * Renders the app's own error page. Return the body for `ctx.type`, or
   * `undefined` for faultline's page. If it throws or rejects, faultline
   * sends its own page and reports both errors.
   */
  render?: (ctx: ErrorPageContext) => string | undefined | Promise<string | undefined>
}

function pauseForDebugger(err: unknown): unknown {
  // with a debugger attached (node --inspect), execution stops here with `err` in scope
  // eslint-disable-next-line no-debugger
  debugger
  return err
}

function renderOwnPage(type: PageType, ctx: ErrorPageContext, appRoot: string): PreparedPage {
  const production = () =>
    renderProductionPage(type, {
      status: ctx.status,
      incidentId: ctx.incidentId,
      ...(ctx.exposedMessage ? { exposedMessage: ctx.exposedMessage } : {}),
    })
  if (!ctx.report) return production()
  const content = { status: ctx.status, incidentId: ctx.incidentId, report: ctx.report, appRoot }
  try {
    if (type === 'html') return { type, body: renderDebugHtml(content), csp: DEBUG_CSP }
    return {
      type,
      body: type === 'json' ? renderDebugJson(content) : renderDebugText(content),
      csp: DEBUG_CSP,
    }
  } catch {
    // a debug page that cannot be drawn still leaves the user an incident id
    return production()
  }
}

/** Reports a failure of the error handling itself, without letting the report fail too; returns its incident id. */
export function captureQuietly(
  lifecycle: RequestLifecycle,
  failure: unknown,
  req: Request,
): string | undefined {
  try {
    return lifecycle.record(req, req.res as Response, failure).id
  } catch {
    // the request's own record is what failed: report on its own, so the page still quotes a real incident
  }
  try {
    return lifecycle.capture(failure)
  } catch {
    // reporting is best effort here: the page is what must not be lost
    return undefined
  }
}

/** The page of last resort, when preparing the normal one failed: status and incident id, as text. */
export function sendLastResort(req: Request, res: Response, id: string): void {
  try {
    if (res.headersSent) {
      if (!res.writableEnded) req.socket.destroy()
      return
    }
    sendErrorPage(
      req,
      res,
      500,
      id,
      renderProductionPage('text', { status: 500, incidentId: id }),
      [],
    )
  } catch {
    req.socket?.destroy()
  }
}

/** The `render` option, checked once when the middleware is made. */
export function checkRender(
  middleware: string,
  options: ErrorHandlerOptions,
): ErrorHandlerOptions['render'] {
  const { render } = options
  if (render !== undefined && typeof render !== 'function')
    throw new TypeError(`faultline: ${middleware} option "render" must be a function`)
  return render
}

/**
 * The last middleware, in place of Express's final handler: records the error
 * for the request's report, then answers with the error page (the debug page
 * in debug mode). It never writes a page once headers are out: the connection
 * is cut, so the client sees a truncated response. Under throw-errors it hands
 * the error on untouched. It never throws: whatever the error holds (throwing
 * getters, headers Node refuses) and whatever `render` does, the client gets a
 * page with the incident id, never Express's own handler.
 */
export function createErrorHandler(
  lifecycle: RequestLifecycle,
  options: ErrorHandlerOptions = {},
): ErrorRequestHandler {
  const render = checkRender('errorHandler', options)
  return function faultlineErrorHandler(
    err: unknown,
    req: Request,
    res: Response,
    next: (err?: unknown) => void,
  ) {
    let id = ''
    try {
      const sawEntry = lifecycle.isWatched(res)
      const recorded = lifecycle.record(req, res, err)
      id = recorded.id
      if (recorded.clientAbort) {
        // the client is gone: there is nobody to send a page to
        if (!req.socket.destroyed) req.socket.destroy()
        return
      }
      if (lifecycle.debug) pauseForDebugger(err)
      if (lifecycle.throwErrors || enteredThrowing(req, sawEntry)) return next(err)
      if (res.headersSent) {
        if (!res.writableEnded) req.socket.destroy()
        return
      }
      answerWithPage(lifecycle, render, err, req, res, id)
    } catch (failure) {
      // without the request's own id, the page quotes the id of the failure's report
      const captured = captureQuietly(lifecycle, failure, req)
      sendLastResort(req, res, id || captured || 'unavailable')
    }
  } as ErrorRequestHandler
}

function prepareContext(
  lifecycle: RequestLifecycle,
  err: unknown,
  req: Request,
  res: Response,
  id: string,
): ErrorPageContext {
  const status = getResponseStatus(err, res.statusCode)
  const message = isExposable(err) ? readField(err, 'message') : undefined
  const type = negotiateType(req, isXhrRequest(req.headers))
  const ctx: ErrorPageContext = {
    status,
    reason: reasonPhrase(status),
    incidentId: id,
    type,
    debug: lifecycle.debug,
    error: err,
    req,
  }
  if (typeof message === 'string' && message) ctx.exposedMessage = message.slice(0, 1000)
  if (lifecycle.debug) {
    res.statusCode = status
    try {
      ctx.report = lifecycle.previewReport(req, res, err, id)
    } catch (failure) {
      captureQuietly(lifecycle, failure, req)
    }
  }
  return ctx
}

/**
 * Answers with the error page for `err` (none for a plain 404): the app's
 * `render`, else faultline's production or debug page, in the negotiated form.
 */
export function answerWithPage(
  lifecycle: RequestLifecycle,
  render: ErrorHandlerOptions['render'],
  err: unknown,
  req: Request,
  res: Response,
  id: string,
): void {
  const ctx = prepareContext(lifecycle, err, req, res, id)
  const { type, status } = ctx
  const headers = getErrorHeaders(err)
  const send = (page: PreparedPage) => sendErrorPage(req, res, status, id, page, headers)
  // the app's page when its renderer gave one, faultline's when it gave nothing
  const sendRendered = (body: string | undefined) =>
    send(
      typeof body === 'string'
        ? { type, body, csp: CUSTOM_CSP }
        : renderOwnPage(type, ctx, lifecycle.appRoot),
    )
  const fallBack = (renderError: unknown) => {
    // the app's renderer failed: its error is reported too, and the user still gets a page
    captureQuietly(lifecycle, renderError, req)
    send(renderOwnPage(type, ctx, lifecycle.appRoot))
  }
  const giveUp = (failure: unknown) => {
    captureQuietly(lifecycle, failure, req)
    sendLastResort(req, res, id)
  }
  if (!render) return send(renderOwnPage(type, ctx, lifecycle.appRoot))
  let custom: ReturnType<typeof render>
  try {
    custom = render(ctx)
  } catch (renderError) {
    return fallBack(renderError)
  }
  // a renderer that answers at once is sent at once: no promise per error in a storm
  if (typeof custom === 'string' || custom === undefined) {
    try {
      return sendRendered(custom)
    } catch (failure) {
      return giveUp(failure)
    }
  }
  Promise.resolve(custom).then(sendRendered, fallBack).catch(giveUp)
}
