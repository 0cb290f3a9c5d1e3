import type { Socket } from 'node:net'
import { Reconnect } from '../delivery/reconnect.js'
import { describeFailure, endSocket } from '../delivery/stream-connection.js'
import { encodeFrame, RelpFrameReader, RelpProtocolError, type Frame } from './relp-frames.js'

/** How a `RelpConnection` reaches its receiver. */
export interface RelpConnectionOptions {
  /** Opens a new connection (net or tls); `ready` names the event that says it can take data. */
  connect: () => { socket: Socket; ready: 'connect' | 'secureConnect' }
  /** Where it goes, for messages. */
  target: string
  /** Messages sent and not yet acknowledged, at most. */
  window: number
  /** A connection with unacknowledged messages that hears nothing for this long is given up (and its messages resent). */
  ackTimeoutMs: number
  /** Called when a session is open, so waiting senders can go at once. */
  onUp?: () => void
  /** Called when a session ends without our asking: what was unacknowledged is then owed again. */
  onDown?: () => void
  /** Called when a session is dropped because the receiver broke the protocol (its unacknowledged messages are owed again). */
  onProtocolError?: (err: RelpProtocolError) => void
  minBackoffMs?: number
  maxBackoffMs?: number
}

interface Unacked {
  resolve: () => void
  reject: (err: Error) => void
}

// RELP transaction numbers run from 1 to 999,999,999 and wrap to 1; 0 is the server's own (serverclose).
const MAX_TXNR = 999_999_999
/** An error that says the receiver broke the protocol, read by shape. */
export function isProtocolError(err: unknown): err is RelpProtocolError {
  return (err as { code?: unknown } | undefined)?.code === 'FAULTLINE_RELP_PROTOCOL'
}

const OFFERS = 'relp_version=0\nrelp_software=faultline\ncommands=syslog'

/**
 * One RELP session (the Reliable Event Logging Protocol of rsyslog's imrelp)
 * to a receiver that may come and go. `send` resolves only when the receiver
 * has answered `200` for that message; up to `window` messages travel at
 * once. A session that closes, or goes silent past `ackTimeoutMs`, rejects
 * every message it has not acknowledged, so the caller sends them again on
 * the next session: nothing the receiver did not confirm counts as
 * delivered. Reconnects use capped, jittered backoff, only while something
 * waits to be sent; the socket is unref'd, so logging never keeps a process
 * alive.
 */
export class RelpConnection {
  #socket: Socket | undefined
  #open = false
  #closed = false
  #serverClosing = false
  #txnr = 0
  #unacked = new Map<number, Unacked>()
  #waiting: Array<{ data: Buffer } & Unacked> = []
  #reader = new RelpFrameReader()
  // answers for transaction numbers this session never had outstanding: noise, never progress
  #strays = 0
  #ackTimer: NodeJS.Timeout | undefined
  readonly #reconnect: Reconnect
  #lastError: Error | undefined

  constructor(private readonly options: RelpConnectionOptions) {
    this.#reconnect = new Reconnect(options, () => this.#connect())
  }

  get reconnects(): number {
    return this.#reconnect.count
  }

  /** Sends one syslog message; resolves when the receiver acknowledged it, rejects when that cannot be known. */
  send(message: Buffer): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`${this.options.target} is closed`))
    if (!this.#socket && this.#reconnect.waiting) return Promise.reject(this.#failure())
    return new Promise((resolve, reject) => {
      this.#waiting.push({ data: message, resolve, reject })
      if (!this.#socket) this.#connect()
      else this.#flushWaiting()
    })
  }

  #failure(): Error {
    const err = this.#lastError
    if (isProtocolError(err))
      return new RelpProtocolError(`${this.options.target} broke the RELP protocol: ${err.message}`)
    return new Error(
      `${this.options.target} is unreachable: ${err ? describeFailure(err) : 'the session closed'}`,
    )
  }

  #nextTxnr(): number {
    this.#txnr = this.#txnr >= MAX_TXNR ? 1 : this.#txnr + 1
    return this.#txnr
  }

  #connect(): void {
    if (this.#closed) return
    const { socket, ready } = this.options.connect()
    this.#socket = socket
    this.#open = false
    this.#serverClosing = false
    this.#txnr = 0
    this.#reader = new RelpFrameReader()
    this.#strays = 0
    socket.unref()
    socket.setNoDelay(true)
    socket.once(ready, () => {
      if (socket !== this.#socket) return
      const txnr = this.#nextTxnr()
      this.#unacked.set(txnr, { resolve: () => this.#opened(), reject: () => undefined })
      this.#armAckTimer()
      socket.write(encodeFrame(txnr, 'open', Buffer.from(OFFERS, 'latin1')))
    })
    socket.on('data', (chunk: Buffer) => this.#receive(socket, chunk))
    socket.on('error', (err) => {
      this.#lastError = err
    })
    socket.on('end', () => socket.end())
    socket.on('close', () => this.#onClose(socket))
  }

  #opened(): void {
    this.#open = true
    this.#lastError = undefined
    this.#reconnect.reset()
    this.#flushWaiting()
    this.options.onUp?.()
  }

  #flushWaiting(): void {
    const socket = this.#socket
    if (!socket || !this.#open || this.#serverClosing) return
    while (this.#waiting.length && this.#unacked.size < this.options.window) {
      const { data, resolve, reject } = this.#waiting.shift()!
      const txnr = this.#nextTxnr()
      this.#unacked.set(txnr, { resolve, reject })
      socket.write(encodeFrame(txnr, 'syslog', data))
    }
    this.#armAckTimer()
  }

  #receive(socket: Socket, chunk: Buffer): void {
    if (socket !== this.#socket) return
    let frames: Frame[]
    try {
      frames = this.#reader.push(chunk)
    } catch (err) {
      return this.#dropForProtocol(socket, err as RelpProtocolError)
    }
    let progress = false
    for (const frame of frames) progress = this.#handle(socket, frame) || progress
    // only an answer to a message still out is progress: bytes alone (a trickle, a babble) never restart the wait
    this.#armAckTimer(progress)
    this.#flushWaiting()
  }

  /** The receiver broke the protocol: the session is dropped and what it did not acknowledge is owed again. */
  #dropForProtocol(socket: Socket, err: RelpProtocolError): void {
    this.#lastError = err
    this.#reader = new RelpFrameReader()
    socket.destroy()
    this.options.onProtocolError?.(err)
  }

  /** Acts on one frame; says whether it answered a message still out. */
  #handle(socket: Socket, frame: Frame): boolean {
    if (frame.command === 'serverclose') {
      // the receiver is shutting down: what it has not acknowledged is owed again on the next session
      this.#serverClosing = true
      socket.end()
      return false
    }
    if (frame.command !== 'rsp') return false
    const unit = this.#unacked.get(frame.txnr)
    if (!unit) {
      this.#strays++
      return false
    }
    this.#unacked.delete(frame.txnr)
    const status = frame.data.slice(0, 3)
    if (
      status === '200' &&
      (frame.txnr !== 1 || /(^|\n)commands=[^\n]*\bsyslog\b/.test(frame.data))
    ) {
      unit.resolve()
      return true
    }
    const refusal = new Error(
      `${this.options.target} refused ${frame.txnr === 1 ? 'the session' : 'a message'}: ${frame.data.split('\n')[0]}`,
    )
    if (frame.txnr === 1) {
      this.#lastError = refusal
      socket.destroy()
    } else {
      unit.reject(refusal)
    }
    return true
  }

  /** Watches for an answer while messages are unacknowledged; `progress` restarts the wait. */
  #armAckTimer(progress = false): void {
    if (progress && this.#ackTimer) {
      clearTimeout(this.#ackTimer)
      this.#ackTimer = undefined
    }
    if (this.#ackTimer || !this.#unacked.size) return
    const socket = this.#socket
    this.#ackTimer = setTimeout(() => {
      this.#ackTimer = undefined
      if (socket !== this.#socket || !socket) return
      const silence = `no acknowledgement within ${this.options.ackTimeoutMs} ms`
      if (!this.#strays) {
        this.#lastError = new Error(silence)
        return void socket.destroy()
      }
      this.#dropForProtocol(
        socket,
        new RelpProtocolError(
          `${silence}, only ${this.#strays} answer(s) for transactions never sent`,
        ),
      )
    }, this.options.ackTimeoutMs)
    this.#ackTimer.unref()
  }

  #onClose(socket: Socket): void {
    if (socket !== this.#socket) return
    const wasOpen = this.#open
    this.#socket = undefined
    this.#open = false
    if (this.#ackTimer) clearTimeout(this.#ackTimer)
    this.#ackTimer = undefined
    const failure = this.#failure()
    const owed = [...this.#unacked.values(), ...this.#waiting.splice(0)]
    this.#unacked.clear()
    for (const unit of owed) unit.reject(failure)
    if (this.#closed) return
    if (wasOpen) this.options.onDown?.()
    if (owed.length) this.#reconnect.schedule()
  }

  /** Ends the session (RELP `close`, answered or not within 500 ms) and stops reconnecting. */
  async close(): Promise<void> {
    this.#closed = true
    this.#reconnect.cancel()
    if (!this.#socket) return
    await endSocket(this.#socket, (socket) => {
      if (!this.#open || this.#serverClosing) return socket.end()
      const txnr = this.#nextTxnr()
      this.#unacked.set(txnr, { resolve: () => socket.end(), reject: () => undefined })
      socket.write(encodeFrame(txnr, 'close', Buffer.alloc(0)))
    })
  }
}
