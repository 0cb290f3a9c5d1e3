import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Request, Response } from 'express'

const COOKIE = 'faultline_csrf'

/**
 * Signed double-submit CSRF tokens: a random cookie per browser, and in
 * every form the HMAC of it under the view's secret. A cross-site page can
 * neither read the cookie nor compute the HMAC, and a cookie planted by a
 * sibling subdomain is refused without the secret.
 */
export class CsrfGuard {
  readonly #secret: Buffer

  constructor(secret: string | undefined) {
    this.#secret = secret ? Buffer.from(secret, 'utf8') : randomBytes(32)
  }

  /** The form token for this browser, setting its cookie first when it has none. */
  token(req: Request, res: Response, path: string): string {
    let nonce = readCookie(req, COOKIE)
    if (!nonce || !/^[A-Za-z0-9_-]{32,64}$/.test(nonce)) {
      nonce = randomBytes(24).toString('base64url')
      const secure = req.secure ? '; Secure' : ''
      res.append(
        'Set-Cookie',
        `${COOKIE}=${nonce}; Path=${path}; HttpOnly; SameSite=Strict${secure}`,
      )
    }
    return this.#sign(nonce)
  }

  /** Whether a POST carries the token that matches its cookie, and was not sent by another site. */
  check(req: Request, token: unknown): boolean {
    // browsers say where a request came from: another site's form is refused whatever it carries
    if (req.headers['sec-fetch-site'] === 'cross-site') return false
    const nonce = readCookie(req, COOKIE)
    if (!nonce || typeof token !== 'string') return false
    const expected = Buffer.from(this.#sign(nonce))
    const given = Buffer.from(token)
    return given.length === expected.length && timingSafeEqual(given, expected)
  }

  #sign(nonce: string): string {
    return createHmac('sha256', this.#secret).update(`faultline-csrf:${nonce}`).digest('base64url')
  }
}

/** One cookie's value from the Cookie header, without a cookie parser. */
function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie
  if (typeof header !== 'string') return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}
