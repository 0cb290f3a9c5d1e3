import { relative, isAbsolute } from 'node:path'
import type { Logger } from 'winston'
import { escapeControl } from '../report/control-chars.js'
import type { ResolvedOptions } from './options.js'
import { offDestinations } from './destinations.js'

// the transports that keep what they could not deliver yet in the spool
const SPOOLING = new Set(['mail', 'syslog', 'tickets'])

/** A path as the operator would type it: relative to the working directory when it is inside it. */
function showPath(path: string): string {
  const rel = relative(process.cwd(), path)
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path
}

/** One destination, read off the transport by shape; never a password (targets are built without one). */
function describeTransport(transport: object): string {
  const t = transport as {
    name?: unknown
    filename?: unknown
    settings?: { target?: unknown }
    adapter?: { name?: unknown; dir?: unknown }
  }
  const name = typeof t.name === 'string' && t.name ? t.name : transport.constructor.name
  if (name === 'file' && typeof t.filename === 'string') return `file ${showPath(t.filename)}`
  const target = t.settings?.target
  if ((name === 'mail' || name === 'syslog') && typeof target === 'string')
    return target.startsWith('outbox ')
      ? `mail outbox ${showPath(target.slice('outbox '.length))}`
      : `${name} ${target}`
  if (name === 'tickets' && typeof t.adapter?.name === 'string') {
    const dir = typeof t.adapter.dir === 'string' ? ` ${showPath(t.adapter.dir)}` : ''
    return `tickets (${t.adapter.name}${dir})`
  }
  return name
}

/**
 * The one line faultline writes at start-up: where reports go and, when a
 * transport spools, the spool directory it creates. It saves a deployment the
 * guess of where its reports went, and why a `faultline-spool/` appeared.
 *
 * @example
 * ```ts
 * startupLine(options, logger) // "faultline: shop reports to stderr, file var/log/shop-errors.log\n"
 * ```
 */
export function startupLine(options: ResolvedOptions, logger: Logger): string {
  const real = logger.transports.filter((t) => t.constructor.name !== 'TransportStream')
  const destinations = real.map((t) => describeTransport(t))
  const spools =
    options.spoolDir && real.some((t) => SPOOLING.has((t as { name?: string }).name ?? ''))
  const where = destinations.length ? destinations.join(', ') : "only the 'report' event"
  const spool = spools
    ? `; undelivered reports wait in ${showPath(options.spoolDir as string)}/`
    : ''
  const store = options.store
  const shared =
    store.kind === 'url' || store.kind === 'cluster' || store.kind === 'sentinel'
      ? `; shares state with its fleet on ${store.target}`
      : store.kind === 'client'
        ? "; shares state with its fleet on the app's Redis client"
        : ''
  // configured but silent: said here, or a developer waits for mail that debug mode holds back
  const off = offDestinations(options)
    .map(({ name, reason }) => `; ${name} off: ${reason}`)
    .join('')
  return (
    escapeControl(`faultline: ${options.appName} reports to ${where}${off}${spool}${shared}`) + '\n'
  )
}

/** Whether to write the start-up line: beside the reports on stderr, and never in a test run. */
export function shouldAnnounce(options: ResolvedOptions): boolean {
  return options.stderr !== false && options.nodeEnv !== 'test'
}
