// A production set-up: run it with `PORT=8080 node --import tsx examples/setup/app.ts`
import type { AddressInfo } from 'node:net'
import express from 'express'
import { createFaultline, SuspiciousRequest, type ErrorPageContext } from '../../lib/index.js'

const faultline = createFaultline({
  appName: 'shop',
  file: 'var/log/shop-errors.log', // every report as one JSON line
  allowedHosts: ['shop.example', '.shop.example', 'localhost'],
  scrub: { fields: ['iban'] }, // on top of passwords, tokens, cookies, cards…
})

// the API's own error shape for JSON clients; browsers and scripts get faultline's page
function render({ type, status, reason, exposedMessage, incidentId }: ErrorPageContext) {
  if (type !== 'json') return undefined
  return JSON.stringify({ message: exposedMessage ?? reason, code: status, incidentId })
}

const app = express()
app.use(faultline.requestHandler()) // first: watches every response, binds req.log
app.use(express.json())
app.get('/api/cart', faultline.xhrOnly(), (_req, res) => {
  res.json({ items: [] })
})
app.post('/orders/:id/refund', async (req, res) => {
  const { amount } = (req.body ?? {}) as { amount?: number }
  if (typeof amount !== 'number' || amount < 0) throw new SuspiciousRequest('bad refund amount') // 400 + warning
  const ok = await refund(req.params.id, amount) // a throw: traceback + 500 page
  if (!ok) req.log.error('refund %s left the ledger unbalanced', req.params.id) // hand-written error
  res.json({ ok })
})
app.use(faultline.notFound({ render })) // after the routes: a 404 page with an incident id
app.use(faultline.errorHandler({ render })) // last: reports, then a safe page with the incident id

const server = app.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo
  console.log(`shop listening on http://127.0.0.1:${port}`)
})
process.on('SIGTERM', () => server.close(() => void faultline.close()))

// the app's own business, here a stand-in ledger: order 13 is locked, refunds over 100 unbalance it
async function refund(orderId: string, amount: number): Promise<boolean> {
  if (orderId === '13') throw new Error(`order ${orderId} is locked by another refund`)
  return amount <= 100
}
