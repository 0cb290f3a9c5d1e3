/**
 * The shop's incident view, behind a fixed demo login: `demo` / `demo`, by
 * the form at /login (a session cookie) or as HTTP Basic credentials (for
 * curl). A real app puts its own authentication here: `authorize` is only
 * asked "may this request see it?".
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import express, { type Express, type Request } from 'express'
import type { Faultline } from '../../lib/index.js'

/** Where the shop mounts the incident view; its list is at this path plus a slash (or without one). */
export const INCIDENT_VIEW_MOUNT = '/_faultline'
/** The demo's one login. */
export const DEMO_LOGIN = { user: 'demo', password: 'demo' }

const COOKIE = 'shop_session'
// one session token per process: restarting the demo logs everybody out
const SESSION = randomBytes(24).toString('base64url')
const BASIC = `Basic ${Buffer.from(`${DEMO_LOGIN.user}:${DEMO_LOGIN.password}`).toString('base64')}`

function same(a: string | undefined, b: string): boolean {
  if (a === undefined || a.length !== b.length) return false
  return timingSafeEqual(Buffer.from(a), Buffer.from(b))
}

function sessionOf(req: Request): string | undefined {
  const pair = (req.headers.cookie ?? '').split(/;\s*/).find((c) => c.startsWith(`${COOKIE}=`))
  return pair?.slice(COOKIE.length + 1)
}

/** Whether the request is logged in as the demo user, by cookie or by Basic credentials. */
export function isDemoUser(req: Request): boolean {
  return same(sessionOf(req), SESSION) || same(req.headers.authorization, BASIC)
}

const LOGIN_PAGE = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Log in</title></head><body><h1>Shop staff login</h1>
<p>The demo's login is <code>demo</code> / <code>demo</code>.</p>
<form method="post" action="/login"><label>User <input name="user" value="demo"></label>
<label>Password <input name="password" type="password"></label> <button type="submit">Log in</button></form></body></html>
`

/** Adds /login and mounts the incident view behind it. */
export function mountIncidentView(app: Express, faultline: Faultline): void {
  app.get('/login', (_req, res) => {
    res.type('html').send(LOGIN_PAGE)
  })
  app.post('/login', express.urlencoded({ extended: false, limit: '2kb' }), (req, res) => {
    const { user, password } = (req.body ?? {}) as { user?: string; password?: string }
    if (!same(user, DEMO_LOGIN.user) || !same(password, DEMO_LOGIN.password)) {
      res.status(401).type('text').send('Wrong login: the demo uses demo / demo.\n')
      return
    }
    res.setHeader('Set-Cookie', `${COOKIE}=${SESSION}; Path=/; HttpOnly; SameSite=Lax`)
    res.redirect(303, `${INCIDENT_VIEW_MOUNT}/`)
  })
  app.use(INCIDENT_VIEW_MOUNT, faultline.dashboard({ authorize: isDemoUser }))
}

/** The Basic credentials of the demo login, for the tour's own look at the view. */
export function demoAuthorization(): string {
  return BASIC
}
