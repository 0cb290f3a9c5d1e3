// Composition root, with lib/faultline.ts and lib/index.ts: the only files in lib/ that know the
// transports. The rest of the core knows a destination only through lib/contract/.
import { join } from 'node:path'
import winston from 'winston'
import { MESSAGE } from 'triple-beam'
import { configure } from 'safe-stable-stringify'
import TransportStream from 'winston-transport'
import type { CoreOptions, ResolvedOptions, TransportSetting } from './config/options.js'
import { FaultlineConfigError } from './config/config-error.js'
import { createFileTransport } from '../transports/file.js'
import { MailTransport } from '../transports/mail.js'
import { resolveMailOptions, type MailOptions } from '../transports/mail/options.js'
import { resolveSyslogOptions, type SyslogOptions } from '../transports/syslog/options.js'
import { resolveTicketOptions, type TicketOptions } from '../transports/ticket/options.js'
import { StderrTransport } from '../transports/stderr.js'
import { SyslogTransport } from '../transports/syslog.js'
import { TicketTransport } from '../transports/ticket.js'
import type { FleetCoordination } from './store/types.js'
import { adoptTransport, noticeOf, stderrNotices, wasSaid, type NoticeChannel } from './notices.js'

/**
 * Everything `createFaultline` accepts. Each field is validated at start-up;
 * a bad one throws a `FaultlineConfigError` that names it.
 *
 * @example
 * ```ts
 * const options: FaultlineOptions = {
 *   appName: 'shop',
 *   managers: ['ops@example.org'],
 *   mail: { outbox: 'var/outbox', digestWindowMs: 60_000 },
 *   tickets: 'local:var/tickets',
 * }
 * createFaultline(options)
 * ```
 */
// declared here, where the destinations are opened, so the core's own options need no transport's types
export interface FaultlineOptions extends CoreOptions {
  /** SMTP transport: `smtp://user:pass@host:587`, `smtps://…`, or its options. */
  mail?: string | MailOptions
  /** Syslog transport: `relp://host:2514`, `udp://host:514`, `tcp://…`, `tls://…`, `unix:///path`, or its options. */
  syslog?: string | SyslogOptions
  /** Ticket tracker: `redmine+https://KEY@host/projects/IDENT`, `trac+https://USER:PASSWORD@host/path`, `local:var/tickets`, or its options (`{ adapter }` for your own tracker). */
  tickets?: string | TicketOptions
}

function describe(err: unknown): string {
  try {
    return err instanceof Error ? err.message : String(err)
  } catch {
    return 'an unprintable value'
  }
}

function isForced(value: unknown): boolean {
  return (
    typeof value === 'object' && value !== null && (value as { force?: unknown }).force === true
  )
}

function openFile(file: NonNullable<ResolvedOptions['file']>): TransportStream {
  try {
    return createFileTransport(file)
  } catch (err) {
    throw new FaultlineConfigError(
      'file',
      `faultline: option "file" names ${JSON.stringify(file.filename)}, which cannot be opened for appending: ${err instanceof Error ? err.message : String(err)}`,
    )
  }
}

// faultline's own transports never read the formatted line; one the app adds may, so it is made when asked for
const lazyJson = winston.format((info) => {
  Object.defineProperty(info, MESSAGE, {
    configurable: true,
    enumerable: false,
    get(this: Record<string, unknown>) {
      return stringify(this)
    },
  })
  return info
})

const stringify = configure({ bigint: true, circularValue: '[Circular]' })

/** Marks a record the dispatcher already handed to faultline's own transports. */
export const DELIVERED = Symbol.for('faultline.delivered')

// faultline's own transports get reports straight from the dispatcher; through winston they take only what it did not deliver
const skipDelivered = winston.format((info) =>
  (info as Record<symbol, unknown>)[DELIVERED] === true ? false : info,
)

const ownTransports = new WeakMap<winston.Logger, WeakSet<object>>()

/**
 * The transports faultline made for this logger: the dispatcher calls their
 * `log` itself, sparing each report winston's Transform and one pipe per
 * transport. An app's own transports (in `transports` or added later) are not
 * among them and get every record through winston.
 */
export function ownTransportsOf(logger: winston.Logger): WeakSet<object> {
  return ownTransports.get(logger) ?? new WeakSet()
}

/** Each network transport spools into its own directory. */
function spoolFor(options: ResolvedOptions, name: string): { spoolDir?: string } {
  return options.spoolDir ? { spoolDir: join(options.spoolDir, name) } : {}
}

/** A transport setting as its constructor takes it; the constructor resolves and checks it, the one place that does. */
function settingOf(setting: TransportSetting): Record<string, unknown> {
  return typeof setting === 'string' ? { url: setting } : setting
}

function openSyslog(options: ResolvedOptions): SyslogTransport {
  return new SyslogTransport({
    ...settingOf(options.syslog!),
    defaultAppName: options.appName,
    ...spoolFor(options, 'syslog'),
  })
}

/** What the store lends the alerting transports: the fleet's coordination, and which errors are muted. */
export interface AlertHooks {
  coordination?: FleetCoordination | undefined
  muted?: (fingerprint: string) => boolean
  /** Where the transports' notices go: the `notices` option. */
  say?: NoticeChannel
}

function openMail(options: ResolvedOptions, { coordination, muted }: AlertHooks): MailTransport {
  return new MailTransport({
    ...settingOf(options.mail!),
    managers: options.managers,
    appName: options.appName,
    appRoot: options.appRoot,
    ...spoolFor(options, 'mail'),
    ...(coordination ? { coordination } : {}),
    ...(muted ? { muted } : {}),
  })
}

function openTickets(
  options: ResolvedOptions,
  { coordination, muted }: AlertHooks,
): TicketTransport {
  return new TicketTransport({
    ...settingOf(options.tickets!),
    ...spoolFor(options, 'tickets'),
    ...(coordination ? { coordination } : {}),
    ...(muted ? { muted } : {}),
  })
}

/**
 * Builds the winston logger every report goes through, with the transports
 * the options ask for. A transport that debug mode leaves off still has its
 * setting checked, so a bad one fails at start-up in development too. Transport failures are written to stderr once per
 * transport and never crash the app. With a fleet's `coordination`, mail and
 * tickets alert once for the fleet; `muted` errors are neither mailed nor ticketed.
 */
export function createReportLogger(
  options: ResolvedOptions,
  hooks: AlertHooks = {},
): winston.Logger {
  const transports: TransportStream[] = []
  if (options.stderr) transports.push(new StderrTransport({ level: options.stderr.level }))
  if (options.file) transports.push(openFile(options.file))
  const on = (setting: TransportSetting | undefined) =>
    setting !== undefined && (!options.debug || isForced(setting))
  if (on(options.mail)) transports.push(openMail(options, hooks))
  // recipients matter only to mail that is sent: the rest of the setting is checked all the same
  else if (options.mail)
    resolveMailOptions(settingOf(options.mail), {
      managers: options.managers.length ? options.managers : ['debug@localhost'],
      appName: options.appName,
    })
  if (on(options.syslog)) transports.push(openSyslog(options))
  else if (options.syslog)
    resolveSyslogOptions(settingOf(options.syslog), { appName: options.appName })
  if (on(options.tickets)) transports.push(openTickets(options, hooks))
  else if (options.tickets) resolveTicketOptions(settingOf(options.tickets))
  // with every destination turned off, the 'report' event is the only reader; winston would otherwise print each report
  if (transports.length === 0 && options.transports.length === 0)
    transports.push(
      new TransportStream({
        log: (_info: unknown, callback: () => void) => callback(),
      } as TransportStream.TransportStreamOptions),
    )
  const say = hooks.say ?? stderrNotices
  // a transport the app built with its own `notices` keeps it; the rest speak through faultline's
  for (const transport of [...transports, ...options.transports]) adoptTransport(transport, say)
  const own = new WeakSet<object>(transports)
  for (const transport of transports) transport.format = skipDelivered()
  transports.push(...options.transports)
  const logger = winston.createLogger({
    levels: winston.config.npm.levels,
    level: 'debug',
    exitOnError: false,
    format: lazyJson(),
    transports,
  })
  ownTransports.set(logger, own)
  // without a listener, winston rethrows a transport's error and takes the app down
  const broken = new WeakSet<object>()
  const nameOf = (transport?: object) =>
    (transport as { name?: string } | undefined)?.name ??
    transport?.constructor.name ??
    'a transport'
  logger.on('error', (err: unknown, transport?: object) => {
    const key = transport ?? logger
    if (broken.has(key)) return
    broken.add(key)
    say(
      noticeOf(
        'FAULTLINE_TRANSPORT_FAILED',
        `${nameOf(transport)} failed: ${describe(err)}`,
        nameOf(transport),
      ),
    )
  })
  // a transport's warnings are its own to ration (once per outage), and never go back through the transports;
  // faultline's transports said theirs already, with their codes
  logger.on('warn', (err: unknown, transport?: object) => {
    if (wasSaid(err)) return
    say(
      noticeOf(
        'FAULTLINE_TRANSPORT_WARNING',
        `${nameOf(transport)}: ${describe(err)}`,
        nameOf(transport),
      ),
    )
  })
  return logger
}
