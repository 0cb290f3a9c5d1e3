import { sayFrom, setTransportNotices } from '../lib/notices.js'
import TransportStream from 'winston-transport'
import { settleWithin } from '../lib/contract/deadline.js'
import { Delivery, type DeliveryStats } from './delivery/delivery.js'
import { LoggedLedger } from './delivery/logged-ledger.js'
import { undeliveredAtShutdown, type ReportTransport } from '../lib/contract/transport-contract.js'
import { Spool } from './delivery/spool.js'
import { isProtocolError, RelpConnection } from './syslog/relp-connection.js'
import type { RelpProtocolError } from './syslog/relp-frames.js'
import { StreamConnection } from './delivery/stream-connection.js'
import { formatSyslogLine, truncateBytes, type SyslogHeader } from './syslog/format.js'
import { connectTo } from './syslog/connect.js'
import { InDoubt } from './syslog/in-doubt.js'
import { DatagramSender } from './syslog/datagrams.js'
import {
  resolveSyslogOptions,
  type ResolvedSyslogOptions,
  type SyslogTransportOptions,
} from './syslog/options.js'

let sequence = 0

/** Counts of a syslog transport. */
export interface SyslogStats extends DeliveryStats {
  /** RELP sessions dropped because the receiver broke the protocol (their unacknowledged messages were sent again). */
  protocolErrors: number
  /** TCP, TLS or Unix connections dropped because the receiver stopped reading (a write did not drain within `writeTimeoutMs`); what it may not have read was sent again. */
  stalls: number
}

const CLOSE_TIMEOUT_MS = 2000

/**
 * Sends every report to a syslog receiver: RFC 5424 (or 3164) lines with the
 * kind as MSGID and the incident id, fingerprint, status, method, route and
 * path as structured data; octet-counted frames over TCP and TLS (RFC 6587),
 * so multi-line and large messages stay one record; TLS that checks the
 * receiver's certificate; datagrams cut with a marker rather than split.
 * Over RELP a message counts as delivered only once the receiver
 * acknowledged it; over plain TCP and TLS, what was written just before a
 * connection dropped is sent again (at least once). A receiver that goes
 * away costs nothing but a bounded queue, and its errors never reach the app.
 *
 * @example
 * ```ts
 * new SyslogTransport({ url: 'tls://logs.example.org:6514', tls: { ca: '/etc/ssl/logs-ca.pem' } })
 * ```
 */
export class SyslogTransport extends TransportStream implements ReportTransport {
  readonly name = 'syslog'
  readonly settings: ResolvedSyslogOptions
  readonly #header: SyslogHeader
  readonly #connection: StreamConnection | RelpConnection | undefined
  readonly #delivery: Delivery<string> | undefined
  readonly #inDoubt: InDoubt
  readonly #datagrams: DatagramSender
  #protocolErrors = 0
  #protocolWarned = false
  readonly #logged = new LoggedLedger(this)

  constructor(options: SyslogTransportOptions) {
    const { defaultAppName = 'app', spoolDir, notices, ...setting } = options
    const settings = resolveSyslogOptions(setting as Record<string, unknown>, {
      appName: defaultAppName,
    })
    super({ level: settings.level })
    setTransportNotices(this, notices)
    this.settings = settings
    this.#header = {
      format: settings.format,
      facility: settings.facility,
      hostname: settings.hostname,
      appName: settings.appName,
      procid: String(process.pid),
      sdId: settings.sdId,
    }
    this.#inDoubt = new InDoubt(settings.inDoubtMs)
    this.#datagrams = new DatagramSender(settings.host, settings.port, (err) =>
      sayFrom(this, 'FAULTLINE_SYSLOG_FAILED', `${this.settings.target}: ${err.message}`),
    )
    if (settings.protocol === 'udp') return
    const connection = this.#openConnection()
    this.#connection = connection
    this.#delivery = new Delivery<string>({
      send:
        connection instanceof RelpConnection
          ? (message) => connection.send(Buffer.from(message, 'utf8'))
          : (frame, key) => this.#write(connection, key!, frame),
      ...(spoolDir ? { spool: new Spool<string>({ dir: spoolDir }) } : {}),
      maxQueue: settings.queueSize,
      window: connection instanceof RelpConnection ? settings.relp.window : 1,
      minBackoffMs: 250,
      maxBackoffMs: 30_000,
      events: {
        down: (err) => {
          // a broken protocol was said already, with what happens next
          if (isProtocolError(err)) return
          sayFrom(
            this,
            'FAULTLINE_SYSLOG_DOWN',
            `${err.message}; messages are queued (up to ${settings.queueSize}) and sent when it is back`,
          )
        },
        up: () => {
          this.#protocolWarned = false
          sayFrom(this, 'FAULTLINE_SYSLOG_BACK', `${settings.target} is reachable again`)
        },
        dropped: (count) => this.#announceDropped(count),
        ...this.#logged.events(),
        spoolFailed: (err) =>
          sayFrom(
            this,
            'FAULTLINE_SYSLOG_SPOOL_FAILED',
            `the spool of ${settings.target} cannot be written (${err.message}); messages wait in memory meanwhile`,
          ),
      },
    })
  }

  #openConnection(): StreamConnection | RelpConnection {
    const s = this.settings
    const onUp = () => this.#delivery?.wake()
    if (s.protocol === 'relp' || s.protocol === 'relp+tls')
      return new RelpConnection({
        connect: () => connectTo(s),
        target: s.target,
        window: s.relp.window,
        ackTimeoutMs: s.relp.ackTimeoutMs,
        onUp,
        onProtocolError: (err) => this.#onProtocolError(err),
      })
    return new StreamConnection({
      connect: () => connectTo(s),
      target: s.target,
      onUp,
      onDown: () => this.#resendInDoubt(),
      writeTimeoutMs: s.writeTimeoutMs,
    })
  }

  /** Counted each time; said once until messages are acknowledged again, however often the receiver repeats it. */
  #onProtocolError(err: RelpProtocolError): void {
    this.#protocolErrors++
    if (this.#protocolWarned) return
    this.#protocolWarned = true
    sayFrom(
      this,
      'FAULTLINE_SYSLOG_PROTOCOL_ERROR',
      `${this.settings.target} broke the RELP protocol (${err.message}): the session was dropped and its unacknowledged messages are sent again on a new one`,
    )
  }

  /** Writes one frame; once written, it stays in doubt for `inDoubtMs`. */
  async #write(connection: StreamConnection, key: string, frame: string): Promise<void> {
    await connection.write(Buffer.from(frame, 'utf8'))
    if (this.settings.inDoubtMs) this.#inDoubt.add(key, frame)
  }

  /**
   * Plain TCP has no acknowledgement: what went out in the last moments of a
   * dropped connection is sent again; after a stall, all that is kept, since
   * the receiver may have read none of it.
   */
  #resendInDoubt(): void {
    this.#delivery?.resend(this.#inDoubt.take())
  }

  /** Emits `logged` with the info once the receiver took it: acknowledged (RELP), written (TCP, TLS, Unix) or sent (UDP). */
  override log(info: Record<string, unknown>, callback: () => void): void {
    try {
      this.#send(this.#keyOf(info), formatSyslogLine(info, this.#header), false, info)
    } catch (err) {
      sayFrom(this, 'FAULTLINE_SYSLOG_FAILED', err instanceof Error ? err.message : String(err))
    }
    callback()
  }

  /** For a process about to die: the line goes straight to the spool. */
  logSync(info: Record<string, unknown>): void {
    if (!this.#delivery) return this.log(info, () => undefined)
    this.#delivery.pushSync(this.#keyOf(info), this.#frame(formatSyslogLine(info, this.#header)))
  }

  /** An incident id is the key of its line, so a replayed spool sends it once. */
  #keyOf(info: Record<string, unknown>): string {
    return typeof info.id === 'string' && typeof info.fingerprint === 'string'
      ? info.id
      : `${process.pid}.${Date.now()}.${sequence++}`
  }

  /** Octet counting (RFC 6587): the receiver knows where each message ends, newlines and all. RELP frames its own. */
  #frame(line: string): string {
    const body = truncateBytes(line, this.settings.streamMaxBytes)
    return this.#connection instanceof RelpConnection ? body : `${Buffer.byteLength(body)} ${body}`
  }

  #send(key: string, line: string, first = false, info?: unknown): void {
    if (!this.#delivery)
      return this.#sendDatagram(
        Buffer.from(truncateBytes(line, this.settings.udpMaxBytes), 'utf8'),
        info,
      )
    if (info !== undefined) {
      this.#logged.gather(key, info)
      this.#logged.carry(key, [key])
    }
    this.#delivery.push(key, this.#frame(line), { first })
  }

  #sendDatagram(datagram: Buffer, info: unknown): void {
    this.#datagrams.send(datagram, () => {
      if (info !== undefined) this.emit('logged', info)
    })
  }

  #announceDropped(count: number): void {
    sayFrom(
      this,
      'FAULTLINE_SYSLOG_DROPPED',
      `${count} messages to ${this.settings.target} were dropped while it was unreachable (queue bound ${this.settings.queueSize})`,
    )
    // the notice goes first and counts against no bound: it is about the bound
    this.#send(
      `dropped.${process.pid}.${Date.now()}.${sequence++}`,
      formatSyslogLine(
        {
          level: 'warn',
          event: 'dropped',
          message: `faultline: ${count} messages were dropped while this receiver was unreachable (queue bound ${this.settings.queueSize})`,
        },
        this.#header,
      ),
      true,
    )
  }

  /** Delivered, queued, spooled, retried and dropped counts, and RELP sessions dropped for a broken protocol. */
  stats(): SyslogStats {
    return {
      ...(this.#delivery?.stats() ?? {
        delivered: this.#datagrams.sent,
        queued: this.#datagrams.pending,
        spooled: 0,
        retried: 0,
        dropped: 0,
        resent: 0,
      }),
      protocolErrors: this.#protocolErrors,
      stalls: this.#connection instanceof StreamConnection ? this.#connection.stalls : 0,
    }
  }

  /** Sends what waits, up to `timeoutMs`; what is left stays spooled. */
  async flush(timeoutMs: number): Promise<void> {
    await this.#delivery?.drain(timeoutMs)
  }

  override _final(callback: (error?: Error | null) => void): void {
    void this.#shutdown().then(() => callback())
  }

  /** Flushes within its bound, then ends the connection; resolves when done. Safe to call twice. */
  override close(): Promise<void> {
    // bounded and held by a ref'd timer: an app may await this with nothing else keeping the process alive
    return settleWithin(this.#shutdown(), CLOSE_TIMEOUT_MS + 1500)
  }

  #closing: Promise<void> | undefined

  #shutdown(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#delivery) {
        const queued = await this.#delivery.close(CLOSE_TIMEOUT_MS)
        const warning = undeliveredAtShutdown(
          { queued, spooled: this.#delivery.stats().spooled },
          `message(s) to ${this.settings.target}`,
        )
        if (warning) sayFrom(this, 'FAULTLINE_SYSLOG_UNDELIVERED', warning.message)
        await this.#connection!.close()
      }
      await this.#datagrams.close(CLOSE_TIMEOUT_MS)
    })()
    return this.#closing
  }
}
