import type TransportStream from 'winston-transport'
import type { ScrubOptions } from '../scrub/scrub.js'
import type { StoreSetting } from '../store/open-store.js'

/**
 * How warnings are rate-limited per family and client, so a scanner cannot flood the log.
 *
 * @example
 * ```ts
 * createFaultline({ warningLimit: { perClient: 5, windowMs: 10_000 } })
 * ```
 */
export interface WarningLimitOptions {
  /** Warnings of one family from one client let through per window. Default 20. */
  perClient?: number
  /** Window length in milliseconds. Default 60 000. */
  windowMs?: number
}

/**
 * Where faultline keeps what its processes share, as an object: a Redis URL or
 * the app's own node-redis client, with the key prefix and the time a Redis
 * call may take before the process answers it alone.
 *
 * @example
 * ```ts
 * createFaultline({ store: { redis: appRedisClient, timeoutMs: 200 } })
 * ```
 */
export interface StoreOptions {
  /** `redis://[:password@]host:port[/db]`, or `rediss://…` for TLS. */
  url?: string
  /**
   * The app's own client, cluster (`createCluster`) or sentinel (`createSentinel`) of the `redis` package,
   * v5 or v6; faultline neither connects nor closes it.
   */
  redis?: { sendCommand(...args: never[]): Promise<unknown> }
  /** A Redis Cluster: `createCluster` options, such as `{ rootNodes: [{ url: 'redis://10.0.0.1:7000' }] }`. */
  cluster?: { rootNodes: Array<Record<string, unknown>>; [option: string]: unknown }
  /** A Sentinel-managed primary: `createSentinel` options, `{ name, sentinelRootNodes: [{ host, port }] }`. */
  sentinel?: {
    name: string
    sentinelRootNodes: Array<{ host: string; port: number }>
    [option: string]: unknown
  }
  /** Prefix of every key. Default `faultline:{<appName>}:`. */
  prefix?: string
  /** How long a Redis call may take before this process answers it with its own state. Default 1000. */
  timeoutMs?: number
}

/** A transport setting once checked: a URL string, or an options object, as the transports read it. */
export type TransportSetting = string | Record<string, unknown>

/**
 * Everything `createFaultline` accepts, as the core reads it: the destinations
 * (`mail`, `syslog`, `tickets`) only as settings it checks and hands on, so the
 * core needs none of the transports' types. `FaultlineOptions` (lib/logger.ts)
 * narrows them to each transport's own options.
 */
export interface CoreOptions {
  /** The app's name, on every report. Default: `name` from the working directory's package.json, else `app`. */
  appName?: string
  /** Who is mailed about errors. */
  managers?: string[]
  /** SMTP transport: `smtp://user:pass@host:587`, `smtps://…`, or its options. */
  mail?: string | object
  /** Syslog transport: `relp://host:2514`, `udp://host:514`, `tcp://…`, `tls://…`, `unix:///path`, or its options. */
  syslog?: string | object
  /** Ticket tracker: `redmine+https://KEY@host/projects/IDENT`, `trac+https://USER:PASSWORD@host/path`, `local:var/tickets`, or its options (`{ adapter }` for your own tracker). */
  tickets?: string | object
  /** A file that receives every report as one JSON line, or `{ filename, level }`. */
  file?: string | { filename: string; level?: 'warn' | 'error' | 'info' }
  /**
   * Reports to stderr: on by default (warnings and up; everything in debug mode), off by default when
   * NODE_ENV is `test`. When unset, `FAULTLINE_STDERR` (`1`/`0`, or a level) decides.
   */
  stderr?: boolean | { level?: 'warn' | 'error' | 'info' | 'debug' }
  /** More winston transports to hand every report to. */
  transports?: TransportStream[]
  /**
   * The app's own winston logger: every report (and an aborted request's record) is logged through it,
   * to its transports and its format, and `req.log` is its child. faultline adds no transport to it;
   * mail, syslog, tickets, file and `transports` stay faultline's own. stderr is off by default with it.
   */
  logger?: import('winston').Logger
  /** Debug mode; by default on only when NODE_ENV is `development` or `test`. */
  debug?: boolean
  /** Hand errors on with `next(err)` instead of rendering a page; by default on only when NODE_ENV is `test`. */
  throwErrors?: boolean
  /** What is hidden from reports on top of the defaults. */
  scrub?: ScrubOptions
  /** Host names the app answers to; a request with another Host gets a 400 and a warning. */
  allowedHosts?: string[]
  /** Rate limit of warnings per family and client, or `false` for none. */
  warningLimit?: WarningLimitOptions | false
  /** Root of the app's own source, for telling its stack frames apart in fingerprints. Default: the working directory. */
  appRoot?: string
  /** Where `FAULTLINE_*` settings are read from (default `process.env`), or `false` to ignore the environment. They fill in only what the options leave unset. */
  env?: Record<string, string | undefined> | false
  /** Where the network transports keep what they could not deliver yet, one directory each; `false` keeps it in memory only. Default `faultline-spool` in the working directory. */
  spoolDir?: string | false
  /**
   * Where faultline keeps what its processes share (mail and ticket windows, warning limits, counts per
   * error, the incident view's data): `'local'` (the default: this process alone), `'redis://…'`,
   * `'rediss://…'`, `'redis+cluster://h:p,h:p'` or `'redis+sentinel://h:p,h:p/name'` for a fleet, or
   * `{ redis | cluster | sentinel }`. When unset, `FAULTLINE_STORE` decides.
   */
  store?: string | StoreOptions
  /** Flush and close on SIGTERM and SIGINT, then exit; reopen the file on SIGHUP (log rotation). Off by default. */
  handleSignals?: boolean
  /** Report uncaught exceptions and unhandled rejections, spooled synchronously, then exit with code 1. Off by default. */
  handleProcessErrors?: boolean
  /**
   * Where faultline's own notices go (a store outage, a transport that drops, a renamed option), each
   * with a stable `code`: a function, `'stderr'` (the default, one `faultline: …` line each),
   * `'emitWarning'` (`process.emitWarning` with the code) or `false` for none.
   */
  notices?: import('../notices.js').NoticesOption
}

/** The options once validated, with every default filled in. */
export interface ResolvedOptions {
  appName: string
  managers: string[]
  mail?: TransportSetting
  syslog?: TransportSetting
  tickets?: TransportSetting
  file?: { filename: string; level: 'warn' | 'error' | 'info' }
  stderr: false | { level: 'warn' | 'error' | 'info' | 'debug' }
  transports: TransportStream[]
  logger?: import('./logger-option.js').AppLogger
  debug: boolean
  throwErrors: boolean
  scrub: ScrubOptions
  allowedHosts?: string[]
  warningLimit: false | { perClient: number; windowMs: number }
  appRoot: string
  /** Where notices go, resolved. */
  notices: import('../notices.js').NoticeChannel
  /** NODE_ENV as faultline saw it at start-up. */
  nodeEnv: string | undefined
  spoolDir: string | false
  store: StoreSetting
  handleSignals: boolean
  handleProcessErrors: boolean
  /** Option name → the `FAULTLINE_*` variable that set it, for each option the environment filled in. */
  sources: Record<string, string>
  /** What turned debug mode on or off: `NODE_ENV=development`, `FAULTLINE_DEBUG=1`, `debug: true`… */
  debugCause: string
}
