/**
 * Bare Express plus one error middleware that only answers: in Express 5 this
 * alone makes errors (and, measured, 404s) cheaper than the final handler, so
 * the limit on each route is the faster of the two bare variants.
 */
import { plainErrorHandler, serve } from './harness.js'

await serve({
  name: 'bare-noop',
  hand(_req, res) {
    res.status(500).type('text/plain').send('Payment failed')
  },
  after(app) {
    app.use(plainErrorHandler)
  },
  writtenBytes: () => 0,
  close: async () => {},
  counts: async () => ({ counts: {} }),
})
