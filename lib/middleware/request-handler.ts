import type { NextFunction, Request, RequestHandler, Response } from 'express'
import type { NoticeChannel } from '../notices.js'
import type { RequestLifecycle } from './lifecycle.js'
import { installAsyncErrorListeners } from './async-errors.js'
import { isClosed, peekState } from './request-state.js'
import { runInScope, type RequestScope } from './request-scope.js'
import { compileHostCheck, parseHost } from './hosts.js'
import { escapeControl } from '../report/format-line.js'
import type { Attribution } from '../report/report.js'
import { SuspiciousRequest } from '../report/suspicious.js'
import { enterCatcher, raiseFlagOnPrototype } from './throw-errors.js'
import { handOnReturnedRejections } from './returned-promises.js'

const LOG_INSTALLED = Symbol('faultline.log-installed')

/** A property the app, or a library such as pino-http, can assign over faultline's: the assigned value wins. */
function defineYielding(proto: object, name: string, get: (req: Request) => unknown): void {
  Object.defineProperty(proto, name, {
    configurable: true,
    get(this: Request) {
      return get(this)
    },
    set(this: Request, value: unknown) {
      Object.defineProperty(this, name, {
        value,
        writable: true,
        configurable: true,
        enumerable: true,
      })
    },
  })
}

/**
 * Whether another HTTP logger has this request: pino-http puts its logger on
 * `res.log` and then on `req.log` only if `req.log` is empty, so faultline's
 * `req.log` must look empty to it, whichever of the two is mounted first.
 */
function isClaimedByAnotherLogger(req: Request): boolean {
  const res = req.res as unknown as Record<string, unknown> | undefined
  return res !== undefined && Object.hasOwn(res, 'log')
}

/**
 * Puts faultline's request logger on the app's request prototype once, as
 * getters, so a request that never logs pays nothing for it: always as
 * `req.faultline`, and as `req.log` unless the app or another logger
 * (pino-http) puts its own there.
 */
function installRequestLog(proto: object, lifecycle: RequestLifecycle): void {
  if (Object.prototype.hasOwnProperty.call(proto, LOG_INSTALLED)) return
  Object.defineProperty(proto, LOG_INSTALLED, { value: true })
  raiseFlagOnPrototype(proto)
  defineYielding(proto, 'faultline', (req) => lifecycle.requestLogger(req))
  defineYielding(proto, 'log', (req) =>
    isClaimedByAnotherLogger(req) ? undefined : lifecycle.requestLogger(req),
  )
}

/** The request as the async context of whatever its handlers start: an error raised there is the request's. */
class AsyncScope implements RequestScope {
  readonly #lifecycle: RequestLifecycle
  readonly #req: Request
  readonly #res: Response
  readonly #next: NextFunction

  constructor(lifecycle: RequestLifecycle, req: Request, res: Response, next: NextFunction) {
    this.#lifecycle = lifecycle
    this.#req = req
    this.#res = res
    this.#next = next
  }

  isLive(): boolean {
    return !isClosed(this.#res, peekState(this.#req))
  }

  get say(): NoticeChannel {
    return this.#lifecycle.say
  }

  fail(error: unknown, attribution?: Attribution): void {
    this.#lifecycle.failAsync(this.#req, this.#res, error, this.#next, attribution)
  }
}

/**
 * The first middleware: watches the response so its outcome is classified
 * when it ends, binds `req.faultline` (and `req.log`), turns away Host headers outside
 * `allowedHosts`, and runs the rest of the chain in the request's async
 * scope, so an async error Express does not catch still reaches the request.
 */
export function createRequestHandler(
  lifecycle: RequestLifecycle,
  allowedHosts: string[] | undefined,
): RequestHandler {
  const isAllowedHost = allowedHosts ? compileHostCheck(allowedHosts) : undefined
  installAsyncErrorListeners()
  // an app's requests share one prototype: installing on it is checked once per prototype, not per request
  let installedOn: object | undefined
  return function faultlineRequestHandler(req, res, next) {
    lifecycle.watchFirst(res)
    enterCatcher(req)
    const proto = Object.getPrototypeOf(req) as object
    if (proto !== installedOn) {
      installRequestLog(proto, lifecycle)
      // the app is on the request prototype: its routers' Layer classes are looked for once per app
      handOnReturnedRejections((req as { app?: unknown }).app, lifecycle.say)
      installedOn = proto
    }
    if (isAllowedHost && !isAllowedHost(req.headers.host)) {
      const host = req.headers.host
      const shown = parseHost(host) ?? escapeControl(String(host ?? '(none)').slice(0, 100))
      const suspicion = new SuspiciousRequest(`Host header not allowed: ${shown}`, {
        category: 'disallowed-host',
      })
      lifecycle.markSuspicious(req, { reason: suspicion.reason, category: 'disallowed-host' })
      return next(suspicion)
    }
    runInScope(new AsyncScope(lifecycle, req, res, next), next)
  }
}
