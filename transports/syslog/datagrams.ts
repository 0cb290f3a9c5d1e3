/**
 * The syslog transport's UDP path. A datagram has no delivery line behind it
 * (no queue, spool, retry or acknowledgement): it is sent once, counted, and
 * its socket is made on the first send and closed once the sends in flight
 * are done. It lives apart from transports/syslog.ts because it shares none
 * of the stream and RELP machinery there, only the counts it reports.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { isIP } from 'node:net'

/** Sends datagrams to one receiver; the first socket error is handed to `warn`, the rest are not. */
export class DatagramSender {
  readonly #host: string
  readonly #port: number
  readonly #warn: (err: Error) => void
  #udp: UdpSocket | undefined
  #pending = 0
  #warned = false
  #sent = 0

  constructor(host: string, port: number, warn: (err: Error) => void) {
    this.#host = host
    this.#port = port
    this.#warn = warn
  }

  /** Datagrams handed to the socket and not yet sent. */
  get pending(): number {
    return this.#pending
  }

  /** Datagrams the socket sent. */
  get sent(): number {
    return this.#sent
  }

  /** Sends one datagram; `onSent` runs once the socket sent it. */
  send(datagram: Buffer, onSent: () => void): void {
    if (!this.#udp) {
      this.#udp = createSocket(isIP(this.#host) === 6 ? 'udp6' : 'udp4')
      this.#udp.on('error', (err) => this.#warnOnce(err))
      this.#udp.unref()
    }
    this.#pending++
    this.#udp.send(datagram, this.#port, this.#host, (err) => {
      this.#pending--
      if (err) return this.#warnOnce(err)
      this.#sent++
      onSent()
    })
  }

  #warnOnce(err: Error): void {
    if (this.#warned) return
    this.#warned = true
    this.#warn(err)
  }

  /** Waits up to `timeoutMs` for the sends in flight, then closes the socket, if one was made. */
  async close(timeoutMs: number): Promise<void> {
    const udp = this.#udp
    if (!udp) return
    const deadline = Date.now() + timeoutMs
    while (this.#pending > 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10))
    udp.close()
    this.#udp = undefined
  }
}
