import { Router, type Request, type RequestHandler, type Response } from 'express'
import { FaultlineConfigError } from '../config/config-error.js'
import { noticeOf, stderrNotices, type NoticeChannel } from '../notices.js'
import type { IncidentStore } from '../store/types.js'
import { CsrfGuard } from './csrf.js'
import { renderIncidentPage, renderIssuePage, renderNotFoundIncident } from './issue-page.js'
import { rootOf, sendHtml, sendJson, sendText } from './layout.js'
import { PAGE_SIZE, readListQuery, renderListPage } from './list-page.js'
import { readForm } from './read-form.js'
import { findAction } from './actions.js'
import { AuthorizeGate } from './gate.js'

/**
 * Options of `faultline.dashboard()`: who may see the incident view.
 *
 * @example
 * ```ts
 * app.use('/_faultline', faultline.dashboard({ authorize: (req) => req.user?.role === 'ops' }))
 * ```
 */
export interface DashboardOptions {
  /**
   * Whether this request may see the view; required. A falsy answer (or a
   * thrown 4xx) gets a plain 404 that reveals nothing, reported as a warning.
   * A throw or a rejection is a bug of the app's: a plain 403, and the error
   * reported as a traceback once per cause.
   */
  authorize(req: Request): boolean | Promise<boolean>
  /**
   * Signs the forms' CSRF tokens. Give every process of a fleet the same one,
   * so a form one process rendered is accepted by another. Default: random per process.
   */
  secret?: string
}

/** What the view needs from the faultline instance it belongs to. */
export interface DashboardHooks {
  /** Marks a request as the view's own, so it never becomes a report. */
  quiet(req: Request): void
  /** The app's root, to tell its stack frames apart. Default: the working directory. */
  appRoot?: string
  /**
   * A request the view turned away (authorize said no, an unknown page or
   * action, a form without its CSRF token): reported after all, as a warning
   * with this reason, under the warning limit. Default: nothing is reported.
   */
  refuse?(req: Request, res: Response, reason: string): void
  /** `authorize` threw or rejected: the request's outcome is a traceback with this error. */
  fail?(req: Request, res: Response, error: Error): void
  /** Where notices go (a store that fails the view). Default: stderr. */
  say?: NoticeChannel
}

const HOURS_SHOWN = 14 * 24
const MAX_FINGERPRINT = 200
const ID_ALPHABET = /^[0-9A-HJKMNP-TV-Z]{12}$/

function checkOptions(options: DashboardOptions | undefined): void {
  const authorize = (options as { authorize?: unknown } | undefined)?.authorize
  if (typeof authorize !== 'function')
    throw new FaultlineConfigError(
      'authorize',
      `faultline.dashboard: authorize must be a function (req) => boolean | Promise<boolean> that says who may see the incident view; got ${authorize === undefined ? 'none' : typeof authorize}`,
    )
  const secret = options?.secret
  if (secret !== undefined && (typeof secret !== 'string' || secret.length < 16))
    throw new FaultlineConfigError(
      'secret',
      'faultline.dashboard: secret must be a string of at least 16 characters',
    )
}

/**
 * An incident id as a user reads it out: any case, with or without dashes or
 * spaces, and Crockford's look-alikes (I and L for 1, O for 0) forgiven.
 * `undefined` when it cannot be an id.
 */
export function normalizeIncidentId(typed: string): string | undefined {
  const id = typed.replace(/[\s-]/g, '').toUpperCase().replace(/[IL]/g, '1').replace(/O/g, '0')
  return ID_ALPHABET.test(id) ? id : undefined
}

/** The id in the form people read it, `7KQ2-M9XD-4TRA`. */
function dashed(id: string): string {
  return `${id.slice(0, 4)}-${id.slice(4, 8)}-${id.slice(8)}`
}

/** The answer when the view itself fails (a store that fails above all): a 503, never a thrown error or a report. */
function answerFailure(res: Response, say: NoticeChannel): (err: unknown) => void {
  return (err) => {
    say(
      noticeOf(
        'FAULTLINE_VIEW_FAILED',
        `the incident view could not answer: ${err instanceof Error ? err.message : String(err)}`,
      ),
    )
    if (!res.headersSent) sendText(res, 503, 'The incident view could not read its store.')
    else res.destroy()
  }
}

/** Runs an async handler; a store that fails gets a 503. */
function guardedBy(
  say: NoticeChannel,
): (handler: (req: Request, res: Response) => Promise<void>) => RequestHandler {
  return (handler) => (req, res) => {
    handler(req, res).catch(answerFailure(res, say))
  }
}

/**
 * The incident view: a router the app mounts behind its own authentication.
 * Server-rendered HTML under a strict CSP, with no script; a JSON API beside
 * it under the same `authorize`.
 *
 * @example
 * ```ts
 * app.use('/_faultline', createDashboard(store, { authorize: isOps }, { quiet: () => {} }))
 * ```
 */
export function createDashboard(
  store: IncidentStore,
  options: DashboardOptions,
  hooks: DashboardHooks,
): Router {
  checkOptions(options)
  const gate = new AuthorizeGate(options.authorize)
  const csrf = new CsrfGuard(options.secret)
  const appRoot = hooks.appRoot ?? process.cwd()
  const say = hooks.say ?? stderrNotices
  const guarded = guardedBy(say)
  const router = Router()
  /** Turns a request away with a plain answer; the reason, naming the view, goes on its warning. */
  const refuse = (req: Request, res: Response, status: number, text: string, reason: string) => {
    hooks.refuse?.(req, res, `incident view: ${reason}`)
    sendText(res, status, text)
  }

  router.use((req, res, next) => {
    hooks.quiet(req)
    gate
      .ask(req)
      .then((verdict) => {
        if (verdict.allowed) return next()
        if ('reason' in verdict) return refuse(req, res, 404, 'Not Found', verdict.reason)
        // the same cause again is a refusal like any other: the traceback went out the first time
        if (verdict.firstOfItsCause) hooks.fail?.(req, res, verdict.failure)
        else hooks.refuse?.(req, res, 'incident view: authorize failed again (reported once)')
        sendText(res, 403, 'Forbidden')
      })
      .catch(answerFailure(res, say))
  })

  const formToken = (req: Request, res: Response) => csrf.token(req, res, req.baseUrl || '/')

  const issueContext = async (req: Request, res: Response, fingerprint: string) => {
    const hourly = await store.hourly([fingerprint], HOURS_SHOWN)
    return {
      root: rootOf(req),
      csrf: formToken(req, res),
      now: Date.now(),
      appRoot,
      hours: hourly[fingerprint] ?? [],
    }
  }

  router.get(
    '/',
    guarded(async (req, res) => {
      const query = readListQuery(req.query)
      const { issues, total } = await store.issues({
        ...query,
        limit: PAGE_SIZE,
        offset: (query.page - 1) * PAGE_SIZE,
      })
      const hourly = await store.hourly(
        issues.map((issue) => issue.fingerprint),
        HOURS_SHOWN,
      )
      sendHtml(res, 200, renderListPage(rootOf(req), query, { issues, total, hourly }, Date.now()))
    }),
  )

  router.get(
    '/api/issues',
    guarded(async (req, res) => {
      const query = readListQuery(req.query)
      const raw = req.query as Record<string, unknown>
      const limit = Math.min(Math.max(Number(raw.limit) || PAGE_SIZE, 1), 500)
      const offset = Math.max(Number(raw.offset) || (query.page - 1) * limit, 0)
      const { page: _page, ...filters } = query
      sendJson(res, 200, await store.issues({ ...filters, limit, offset }))
    }),
  )

  router.get(
    '/api/incidents/:id',
    guarded(async (req, res) => {
      const id = normalizeIncidentId(String(req.params.id ?? ''))
      const incident = id === undefined ? undefined : await store.incident(id)
      if (!incident)
        return sendJson(res, 404, { error: { status: 404, message: 'No such incident' } })
      const issue = await store.issue(incident.fingerprint)
      sendJson(res, 200, { incident, ...(issue ? { issue } : {}) })
    }),
  )

  const showIncident = async (req: Request, res: Response, typed: string) => {
    const id = normalizeIncidentId(typed)
    const incident = id === undefined ? undefined : await store.incident(id)
    if (!incident || id === undefined)
      return sendHtml(res, 404, renderNotFoundIncident(rootOf(req), typed.slice(0, 40)))
    const issue = await store.issue(incident.fingerprint)
    const ctx = await issueContext(req, res, incident.fingerprint)
    sendHtml(res, 200, renderIncidentPage(ctx, { ...incident, id: dashed(id) }, issue))
  }

  router.get(
    '/incidents',
    guarded((req, res) => showIncident(req, res, String((req.query as { id?: unknown }).id ?? ''))),
  )
  router.get(
    '/incidents/:id',
    guarded((req, res) => showIncident(req, res, String(req.params.id ?? ''))),
  )

  router.get(
    '/issues/:fingerprint',
    guarded(async (req, res) => {
      const fingerprint = String(req.params.fingerprint ?? '').slice(0, MAX_FINGERPRINT)
      const issue = await store.issue(fingerprint)
      if (!issue) return sendText(res, 404, 'No such error in the store.')
      sendHtml(res, 200, renderIssuePage(await issueContext(req, res, fingerprint), issue))
    }),
  )

  router.post(
    '/issues/:fingerprint',
    guarded(async (req, res) => {
      const form = await readForm(req)
      if (!csrf.check(req, form.csrf))
        return refuse(
          req,
          res,
          403,
          'Forbidden: the form was not sent from the incident view.',
          'a form without its CSRF token, or from another site',
        )
      const action = findAction(form.action)
      if (!action) return refuse(req, res, 400, 'Unknown action.', 'an action it does not have')
      const fingerprint = String(req.params.fingerprint ?? '').slice(0, MAX_FINGERPRINT)
      if (!(await store.issue(fingerprint)))
        return sendText(res, 404, 'No such error in the store.')
      await action(store, fingerprint)
      // relative: from …/issues/<fp> this is the issue's page, under any mount path
      res.status(303).setHeader('Location', encodeURIComponent(fingerprint))
      sendText(res, 303, 'See Other')
    }),
  )

  router.use((req, res) => refuse(req, res, 404, 'Not Found', 'no such page'))
  return router
}
