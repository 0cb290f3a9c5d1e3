/**
 * @sentry/node with tracing off and a local sink for its events (see
 * sentry-init.ts, which the runner loads with `--import`). Errors reach
 * Sentry's Express error handler; a plain error answer follows it, as in
 * Sentry's Express guide. The hand-written error is a `captureMessage` at
 * level error.
 */
import * as Sentry from '@sentry/node'
import { sink } from './sentry-init.js'
import { plainErrorHandler, serve } from './harness.js'

await serve({
  name: process.env.BENCH_SENTRY_DEDUPE === '1' ? 'sentry-dedupe' : 'sentry',
  hand(_req, res) {
    Sentry.captureMessage('hand-written failure: payment gateway said declined', 'error')
    res.status(500).type('text/plain').send('Payment failed')
  },
  after(app) {
    Sentry.setupExpressErrorHandler(app)
    app.use(plainErrorHandler)
  },
  // bytes the sink took in: what is still in Sentry's buffer at the stop arrives during close
  writtenBytes: () => sink.bytes,
  async close() {
    await Sentry.close(30_000)
  },
  counts: async () => ({
    counts: { 'sink.events': sink.events, 'sink.envelopes': sink.envelopes },
  }),
})
