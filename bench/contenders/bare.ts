/**
 * Bare Express: no logging at all. Thrown errors reach Express's final
 * handler, which in production answers 500 and prints the stack to stderr
 * (the runner sends the contenders' stderr to a file).
 */
import { serve } from './harness.js'

await serve({
  name: 'bare',
  hand(_req, res) {
    res.status(500).type('text/plain').send('Payment failed')
  },
  writtenBytes: () => 0,
  close: async () => {},
  counts: async () => ({ counts: {} }),
})
