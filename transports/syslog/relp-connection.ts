import type { Socket } from 'node:net'
import { Backoff } from '../../lib/delivery/backoff.js'
import { describeFailure, endSocket } from '../../lib/delivery/stream-connection.js'

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
  minBackoffMs?: number
  maxBackoffMs?: number
}

interface Unacked {
  resolve: () => void
  reject: (err: Error) => void
}

// RELP transaction numbers run from 1 to 999,999,999 and wrap to 1; 0 is the server's own (serverclose).
const MAX_TXNR = 999_999_999
const OFFERS = 'relp_version=0\nrelp_software=faultline\ncommands=syslog'
// a frame header is "TXNR SP COMMAND SP DATALEN": 9 + 1 + 32 + 1 + 9 digits at most
const MAX_HEADER = 64

/** One frame as the receiver sent it. */
interface Frame {
  txnr: number
  command: string
  data: string
}

/** Encodes one RELP frame: `TXNR SP COMMAND SP DATALEN [SP DATA] LF`. */
function encodeFrame(txnr: number, command: string, data: Buffer): Buffer {
  const head = data.length ? `${txnr} ${command} ${data.length} ` : `${txnr} ${command} 0`
  return Buffer.concat([Buffer.from(head, 'latin1'), data, Buffer.from('\n', 'latin1')])
}

/**
 * Reads the complete frames at the start of `buffer`; returns them and the bytes left over. Throws on anything
 * that is not RELP, so a stray listener on the port is found out at once rather than waited on.
 */
function decodeFrames(buffer: Buffer): { frames: Frame[]; rest: Buffer } {
  const frames: Frame[] = []
  let at = 0
  for (;;) {
    const head = buffer.subarray(at, at + MAX_HEADER).toString('latin1')
    const match = /^(\d{1,9}) ([a-z]{1,32}) (\d{1,9})([ \n])/.exec(head)
    if (!match) {
      if (/^\d{0,9}( [a-z]{0,32}( \d{0,9})?)?$/.test(head) && head.length < MAX_HEADER)
        return { frames, rest: buffer.subarray(at) }
      throw new Error(
        `the receiver does not speak RELP (it sent ${JSON.stringify(head.slice(0, 32))})`,
      )
    }
    const length = Number(match[3])
    const start = at + match[0].length
    const dataStart = match[4] === ' ' ? start : start - 1
    if (match[4] === '\n' && length !== 0)
      throw new Error('the receiver sent a malformed RELP frame')
    const end = dataStart + length
    if (buffer.length < end + (match[4] === ' ' ? 1 : 0))
      return { frames, rest: buffer.subarray(at) }
    if (match[4] === ' ' && buffer[end] !== 0x0a)
      throw new Error('the receiver sent a RELP frame without its trailer')
    frames.push({
      txnr: Number(match[1]),
      command: match[2]!,
      data: buffer.subarray(dataStart, end).toString('utf8'),
    })
    at = match[4] === ' ' ? end + 1 : start
  }
}

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
  #inbox: Buffer = Buffer.alloc(0)
  #timer: NodeJS.Timeout | undefined
  #ackTimer: NodeJS.Timeout | undefined
  readonly #backoff: Backoff
  #lastError: Error | undefined
  reconnects = 0

  constructor(private readonly options: RelpConnectionOptions) {
    this.#backoff = new Backoff(options.minBackoffMs ?? 250, options.maxBackoffMs ?? 30_000)
  }

  /** Sends one syslog message; resolves when the receiver acknowledged it, rejects when that cannot be known. */
  send(message: Buffer): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`${this.options.target} is closed`))
    if (!this.#socket && this.#timer) return Promise.reject(this.#failure())
    return new Promise((resolve, reject) => {
      this.#waiting.push({ data: message, resolve, reject })
      if (!this.#socket) this.#connect()
      else this.#flushWaiting()
    })
  }

  #failure(): Error {
    const why = this.#lastError ? describeFailure(this.#lastError) : 'the session closed'
    return new Error(`${this.options.target} is unreachable: ${why}`)
  }

  #nextTxnr(): number {
    this.#txnr = this.#txnr >= MAX_TXNR ? 1 : this.#txnr + 1
    return this.#txnr
  }

  #connect(): void {
    this.#timer = undefined
    if (this.#closed) return
    const { socket, ready } = this.options.connect()
    this.#socket = socket
    this.#open = false
    this.#serverClosing = false
    this.#txnr = 0
    this.#inbox = Buffer.alloc(0)
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
    this.#backoff.reset()
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
    this.#inbox = this.#inbox.length ? Buffer.concat([this.#inbox, chunk]) : chunk
    let frames: Frame[]
    try {
      const decoded = decodeFrames(this.#inbox)
      frames = decoded.frames
      this.#inbox = decoded.rest
    } catch (err) {
      this.#lastError = err as Error
      socket.destroy()
      return
    }
    for (const frame of frames) this.#handle(socket, frame)
    this.#armAckTimer(true)
    this.#flushWaiting()
  }

  #handle(socket: Socket, frame: Frame): void {
    if (frame.command === 'serverclose') {
      // the receiver is shutting down: what it has not acknowledged is owed again on the next session
      this.#serverClosing = true
      socket.end()
      return
    }
    if (frame.command !== 'rsp') return
    const unit = this.#unacked.get(frame.txnr)
    if (!unit) return
    this.#unacked.delete(frame.txnr)
    const status = frame.data.slice(0, 3)
    if (
      status === '200' &&
      (frame.txnr !== 1 || /(^|\n)commands=[^\n]*\bsyslog\b/.test(frame.data))
    )
      return unit.resolve()
    const refusal = new Error(
      `${this.options.target} refused ${frame.txnr === 1 ? 'the session' : 'a message'}: ${frame.data.split('\n')[0]}`,
    )
    if (frame.txnr === 1) {
      this.#lastError = refusal
      socket.destroy()
    } else {
      unit.reject(refusal)
    }
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
      this.#lastError = new Error(`no acknowledgement within ${this.options.ackTimeoutMs} ms`)
      socket.destroy()
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
    if (!owed.length) return
    this.reconnects++
    this.#timer = setTimeout(() => this.#connect(), this.#backoff.next())
    this.#timer.unref()
  }

  /** Ends the session (RELP `close`, answered or not within 500 ms) and stops reconnecting. */
  async close(): Promise<void> {
    this.#closed = true
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
    if (!this.#socket) return
    await endSocket(this.#socket, (socket) => {
      if (!this.#open || this.#serverClosing) return socket.end()
      const txnr = this.#nextTxnr()
      this.#unacked.set(txnr, { resolve: () => socket.end(), reject: () => undefined })
      socket.write(encodeFrame(txnr, 'close', Buffer.alloc(0)))
    })
  }
}
