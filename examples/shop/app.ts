/**
 * A small shop with one route per request outcome faultline sorts: pages that
 * work, a broken internal link, an attack, a non-XHR call to an XHR-only API,
 * a malformed JSON body, a hand-written error, a thrown and a rejected error,
 * a response that fails half-way, and a slow response a client can abort.
 */
import express, { type NextFunction, type Request, type Response } from 'express'
import { SuspiciousRequest, type Faultline } from '../../lib/index.js'
import { mountIncidentView } from './ops.js'

/**
 * The shop's 404: an error with a status, so faultline's error handler renders
 * it (with an incident id, like every other error page) instead of Express's
 * final handler. `expose` lets the page say what was missing.
 */
class PageNotFound extends Error {
  override readonly name = 'PageNotFound'
  readonly status = 404
  readonly expose = true
  constructor(path: string) {
    super(`There is no page at ${path}`)
  }
}

/** Each route of the shop, as the index page and the demo's start-up banner list them. */
export const SHOP_ROUTES: ReadonlyArray<{ path: string; outcome: string }> = [
  { path: '/', outcome: 'this index (ok)' },
  { path: '/orders/42', outcome: 'an order as JSON (ok)' },
  {
    path: '/broken-link',
    outcome: 'a page whose link leads to a 404 with an internal referer (warning)',
  },
  {
    path: '/admin/transfer?amount=-50',
    outcome: 'a negative transfer: SuspiciousRequest, 400 (warning)',
  },
  {
    path: '/api/cart',
    outcome:
      'XHR-only: opened in a browser tab it is a 400 (warning); POST it malformed JSON for another',
  },
  { path: '/checkout', outcome: "req.log.error and the app's own 500 page, one report (error)" },
  { path: '/boom', outcome: 'a TypeError thrown in the handler, 500 (traceback)' },
  { path: '/async-boom', outcome: 'a rejected promise, 500 (traceback)' },
  {
    path: '/stream',
    outcome: 'fails after part of the body went out: the connection is cut (traceback)',
  },
  {
    path: '/slow',
    outcome: 'streams for 3 seconds: close the tab early for a client abort (info only)',
  },
  { path: '/_faultline/', outcome: 'the incident view: log in at /login as demo / demo' },
]

const ORDERS: Record<string, { id: string; items: string[]; total: number }> = {
  '42': { id: '42', items: ['teapot', 'two cups'], total: 38.5 },
  '1001': { id: '1001', items: ['kettle'], total: 24 },
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>\n`
}

function indexPage(_req: Request, res: Response): void {
  // the paths are the app's own constants; '&' is the only character in them HTML cares about
  const items = SHOP_ROUTES.map(
    (r) =>
      `<li><a href="${r.path.replace(/&/g, '&amp;')}">${r.path.replace(/&/g, '&amp;')}</a> — ${r.outcome}</li>`,
  )
  res.type('html').send(page('Shop', `<ul>${items.join('')}</ul>`))
}

function showOrder(req: Request<{ id: string }>, res: Response, next: NextFunction): void {
  const order = ORDERS[req.params.id]
  if (!order) return next(new PageNotFound(req.path))
  res.json(order)
}

function transfer(req: Request, res: Response): void {
  // the form posts JSON; the index links the same check through the query string so it can be clicked
  const body = req.body as { amount?: unknown } | undefined
  const amount = Number(body?.amount ?? req.query.amount)
  if (!Number.isFinite(amount)) throw new SuspiciousRequest('transfer amount is not a number')
  // the form never sends a negative amount: a request that does was crafted by hand
  if (amount < 0) throw new SuspiciousRequest('negative transfer amount')
  res.json({ transferred: amount })
}

function checkout(faultline: Faultline, req: Request, res: Response): void {
  const orderId = '1001'
  // the app noticed the problem and answers with its own page; faultline merges
  // this log line with the 500 it explains into one report of kind 'error'
  req.log.error('db inconsistent for order %s', orderId)
  const incident = faultline.incidentId(req)
  res
    .status(500)
    .type('html')
    .send(
      page(
        'Checkout unavailable',
        `<p>We could not complete your order. Nothing was charged; please try again in a few minutes.</p><p>If you contact support, quote incident <code>${incident}</code>.</p>`,
      ),
    )
}

function streamThenFail(req: Request, res: Response, next: NextFunction): void {
  res.type('text/plain')
  res.write('order report\nline 1: teapot\n')
  // headers and part of the body are out: the status can no longer change, so
  // faultline cuts the connection and the client sees a truncated response
  setTimeout(() => next(new Error('order export failed half-way: warehouse feed closed')), 20)
}

function slow(_req: Request, res: Response): void {
  res.type('text/plain')
  let sent = 0
  const timer = setInterval(() => {
    sent++
    res.write(`chunk ${sent} of 10\n`)
    if (sent === 10) {
      clearInterval(timer)
      res.end()
    }
  }, 300)
  // a client that leaves early closes the response: stop writing to nobody
  res.on('close', () => clearInterval(timer))
  res.write('chunk 0 of 10\n')
}

/**
 * Builds the shop. `faultline.requestHandler()` is the first middleware and
 * `faultline.errorHandler()` the last, so every outcome in between is seen.
 */
export function createShopApp(faultline: Faultline): express.Express {
  const app = express()
  app.use(faultline.requestHandler())

  app.get('/', indexPage)
  // the incident view, behind the demo's fixed login; its own requests are never reported
  mountIncidentView(app, faultline)
  app.get('/orders/:id', showOrder)
  app.get('/broken-link', (_req, res) => {
    res
      .type('html')
      .send(
        page(
          'Gift ideas',
          '<p>This page was written before the catalogue moved: <a href="/no-such-page">see our teapots</a>.</p>',
        ),
      )
  })
  // express.json() turns a malformed body into a 400 error that faultline reports as a warning
  app.all('/admin/transfer', express.json(), transfer)

  const cart: string[] = []
  app.get('/api/cart', faultline.xhrOnly(), (_req, res) => {
    res.json({ items: cart })
  })
  app.post('/api/cart', faultline.xhrOnly(), express.json(), (req, res) => {
    const sku = (req.body as { sku?: unknown } | undefined)?.sku
    if (typeof sku === 'string' && sku) cart.push(sku)
    res.status(201).json({ items: cart })
  })

  app.get('/checkout', (req, res) => checkout(faultline, req, res))
  app.get('/boom', (req) => {
    // a bug: the order has no customer, and reading its name throws a TypeError
    const order = (req.query.order ? ORDERS[String(req.query.order)] : undefined) as
      { customer: { name: string } } | undefined
    return order!.customer.name
  })
  app.get('/async-boom', async () => {
    await new Promise((resolve) => setTimeout(resolve, 5))
    // Express 5 passes a rejected handler promise to next(err) by itself
    throw new Error('payment provider timed out')
  })
  app.get('/stream', streamThenFail)
  app.get('/slow', slow)

  app.use((req, _res, next) => next(new PageNotFound(req.path)))
  app.use(faultline.errorHandler())
  return app
}
