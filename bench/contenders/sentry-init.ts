/**
 * Sentry's instrument file, loaded with `--import` before the app as Sentry's
 * docs ask for ESM. Tracing is off (no `tracesSampleRate`). Events go to a
 * local sink: a transport that takes the serialized envelope in-process and
 * counts it, so nothing leaves the machine and nothing is thrown away unseen.
 *
 * Sentry's default Dedupe integration drops an error identical to the
 * previous one, so under a storm of one error it records a handful of events.
 * The `sentry` contender removes it, so that it records every occurrence as
 * faultline must; `sentry-dedupe` (BENCH_SENTRY_DEDUPE=1) keeps the defaults.
 */
import * as Sentry from '@sentry/node'

/** What the sink received. */
export const sink = { envelopes: 0, events: 0, bytes: 0 }

const keepDedupe = process.env.BENCH_SENTRY_DEDUPE === '1'

function countEvents(body: string | Uint8Array): number {
  const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8')
  let count = 0
  for (
    let at = text.indexOf('"type":"event"');
    at !== -1;
    at = text.indexOf('"type":"event"', at + 1)
  )
    count++
  return count
}

Sentry.init({
  // any DSN enables the client; the transport below never opens a socket
  dsn: 'http://public@127.0.0.1:9/1',
  environment: 'production',
  integrations: (defaults) =>
    keepDedupe ? defaults : defaults.filter((integration) => integration.name !== 'Dedupe'),
  transport: (options) =>
    Sentry.createTransport(options, async (request) => {
      sink.envelopes++
      sink.events += countEvents(request.body)
      sink.bytes +=
        typeof request.body === 'string' ? Buffer.byteLength(request.body) : request.body.byteLength
      return { statusCode: 200 }
    }),
})
