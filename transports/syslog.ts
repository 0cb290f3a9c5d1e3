import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { isIP, connect as netConnect } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import TransportStream from 'winston-transport'
import { StreamSender, type SenderStats } from '../lib/stream-sender.js'
import { formatSyslogLine, truncateBytes, type SyslogHeader } from '../lib/syslog-format.js'
import { resolveSyslogOptions, type ResolvedSyslogOptions, type SyslogOptions } from '../lib/syslog-options.js'

/** Options of the syslog transport: the `syslog` settings, plus the app's name for APP-NAME. */
export interface SyslogTransportOptions extends SyslogOptions {
  /** The default APP-NAME. */
  defaultAppName?: string
}

const CLOSE_TIMEOUT_MS = 2000

/**
 * Sends every report to a syslog receiver: RFC 5424 (or 3164) lines with the
 * kind as MSGID and the incident id, fingerprint, status, method, route and
 * path as structured data; octet-counted frames over TCP and TLS (RFC 6587),
 * so multi-line and large messages stay one record; TLS that checks the
 * receiver's certificate; datagrams cut with a marker rather than split. A
 * receiver that goes away costs nothing but a bounded queue, and its errors
 * never reach the app.
 *
 * @example
 * ```ts
 * new SyslogTransport({ url: 'tls://logs.example.org:6514', tls: { ca: '/etc/ssl/logs-ca.pem' } })
 * ```
 */
export class SyslogTransport extends TransportStream {
  readonly settings: ResolvedSyslogOptions
  readonly #header: SyslogHeader
  readonly #stream: StreamSender | undefined
  #udp: UdpSocket | undefined
  #udpPending = 0
  #udpWarned = false
  #udpSent = 0

  constructor(options: SyslogTransportOptions) {
    const { defaultAppName = 'app', ...setting } = options
    const settings = resolveSyslogOptions(setting as Record<string, unknown>, { appName: defaultAppName })
    super({ level: settings.level })
    this.settings = settings
    this.#header = { format: settings.format, facility: settings.facility, hostname: settings.hostname, appName: settings.appName, procid: String(process.pid), sdId: settings.sdId }
    if (settings.protocol !== 'udp') {
      this.#stream = new StreamSender({
        connect: () => this.#connect(),
        queueSize: settings.queueSize,
        target: settings.target,
        onWarn: (err) => this.emit('warn', err),
        onDropped: (count) => this.#announceDropped(count),
      })
    }
  }

  #connect(): ReturnType<ConstructorParameters<typeof StreamSender>[0]['connect']> {
    const s = this.settings
    if (s.protocol === 'tls') {
      const servername = s.tls.servername ?? (isIP(s.host) ? undefined : s.host)
      const socket = tlsConnect({ host: s.host, port: s.port, ...(s.tls.ca ? { ca: s.tls.ca } : {}), ...(servername ? { servername } : {}), rejectUnauthorized: s.tls.rejectUnauthorized })
      return { socket, ready: 'secureConnect' }
    }
    const socket = s.protocol === 'unix' ? netConnect(s.path!) : netConnect(s.port, s.host)
    return { socket, ready: 'connect' }
  }

  override log(info: Record<string, unknown>, callback: () => void): void {
    try {
      this.#send(formatSyslogLine(info, this.#header))
    } catch (err) {
      this.emit('warn', err)
    }
    callback()
  }

  #send(line: string, exempt = false): void {
    if (this.#stream) {
      // octet counting (RFC 6587): the receiver knows where each message ends, newlines and all
      const body = Buffer.from(truncateBytes(line, this.settings.streamMaxBytes), 'utf8')
      this.#stream.send(Buffer.concat([Buffer.from(`${body.length} `), body]), exempt)
      return
    }
    this.#sendDatagram(Buffer.from(truncateBytes(line, this.settings.udpMaxBytes), 'utf8'))
  }

  #sendDatagram(datagram: Buffer): void {
    if (!this.#udp) {
      this.#udp = createSocket(isIP(this.settings.host) === 6 ? 'udp6' : 'udp4')
      this.#udp.on('error', (err) => this.#warnUdp(err))
      this.#udp.unref()
    }
    this.#udpPending++
    this.#udp.send(datagram, this.settings.port, this.settings.host, (err) => {
      this.#udpPending--
      if (err) this.#warnUdp(err)
      else this.#udpSent++
    })
  }

  #warnUdp(err: Error): void {
    if (this.#udpWarned) return
    this.#udpWarned = true
    this.emit('warn', new Error(`${this.settings.target}: ${err.message}`))
  }

  #announceDropped(count: number): void {
    this.emit('warn', new Error(`${count} messages to ${this.settings.target} were dropped while it was unreachable (queue bound ${this.settings.queueSize})`))
    this.#send(formatSyslogLine({ level: 'warn', event: 'dropped', message: `faultline: ${count} messages were dropped while this receiver was unreachable (queue bound ${this.settings.queueSize})` }, this.#header), true)
  }

  /** Sent, queued, dropped and reconnect counts. */
  stats(): SenderStats {
    return this.#stream?.stats() ?? { sent: this.#udpSent, queued: this.#udpPending, dropped: 0, reconnects: 0 }
  }

  override _final(callback: (error?: Error | null) => void): void {
    void this.#shutdown().then(() => callback())
  }

  override close(): void {
    void this.#shutdown()
  }

  #closing: Promise<void> | undefined

  #shutdown(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#stream) await this.#stream.close(CLOSE_TIMEOUT_MS)
      const udp = this.#udp
      if (udp) {
        const deadline = Date.now() + CLOSE_TIMEOUT_MS
        while (this.#udpPending > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
        udp.close()
        this.#udp = undefined
      }
    })()
    return this.#closing
  }
}
