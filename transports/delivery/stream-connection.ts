import type { Socket } from 'node:net'
import { Reconnect } from './reconnect.js'

/**
 * Ends a socket politely (`end` says goodbye the protocol's way) and resolves
 * once it closed, or after 500 ms, when it is destroyed.
 */
export function endSocket(socket: Socket, end: (socket: Socket) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      socket.destroy()
      resolve()
    }, 500)
    timer.unref()
    socket.once('close', () => {
      clearTimeout(timer)
      resolve()
    })
    end(socket)
  })
}

/** How a `StreamConnection` reaches its receiver. */
export interface StreamConnectionOptions {
  /** Opens a new connection (net or tls); `ready` names the event that says it can take data. */
  connect: () => { socket: Socket; ready: 'connect' | 'secureConnect' }
  /** Where it goes, for messages. */
  target: string
  /** Called when a connection comes up, so waiting senders can go at once. */
  onUp?: () => void
  /** Called when a connection that was up closes without our asking; `stalled` when it was dropped for a write that never drained. */
  onDown?: (stalled: boolean) => void
  /** How long a write may wait unsent (a receiver that stopped reading) before the connection is dropped. Default 30 000 ms. */
  writeTimeoutMs?: number
  minBackoffMs?: number
  maxBackoffMs?: number
}

/** Says why a connection failed, in words an operator can act on (a refused certificate above all). */
export function describeFailure(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code
  return /CERT|SELF_SIGNED|UNABLE_TO|ALTNAME|certificate/i.test(`${code} ${err.message}`)
    ? `its TLS certificate was refused (${err.message}); nothing is sent until a trusted certificate answers`
    : err.message
}

/**
 * One stream connection to a receiver that may come and go. `write` resolves
 * once a frame was handed to the socket and rejects at once while there is no
 * connection, which it then tries to open, with capped, jittered backoff, for
 * as long as something waits to be sent. A receiver that shuts down sends
 * FIN: writing stops at once, so nothing goes into a dying connection. The
 * socket is unref'd, so logging never keeps a process alive.
 */
export class StreamConnection {
  #socket: Socket | undefined
  #up = false
  #everUp = false
  #closed = false
  #demand = false
  readonly #reconnect: Reconnect
  #lastError: Error | undefined
  #waiting: Array<{ frame: Buffer; resolve: () => void; reject: (err: Error) => void }> = []
  #stalled = false
  readonly #stallErrors = new WeakMap<Socket, Error>()
  /** Connections dropped because a write did not drain within `writeTimeoutMs`. */
  stalls = 0

  constructor(private readonly options: StreamConnectionOptions) {
    this.#reconnect = new Reconnect(options, () => this.#connect())
  }

  get reconnects(): number {
    return this.#reconnect.count
  }

  /** Hands one frame to the connection; while a connection is being opened, waits for its outcome. */
  write(frame: Buffer): Promise<void> {
    const socket = this.#socket
    if (this.#up && socket)
      return new Promise((resolve, reject) => this.#send(socket, frame, resolve, reject))
    this.#demand = true
    if (!this.#socket && !this.#reconnect.waiting) this.#connect()
    if (this.#socket)
      return new Promise((resolve, reject) => this.#waiting.push({ frame, resolve, reject }))
    return Promise.reject(this.#failure())
  }

  /**
   * Writes with a deadline: the callback comes once the kernel took the
   * bytes, so one that does not come means the receiver stopped reading and
   * the buffers are full. Nothing else would ever give that connection up.
   */
  #send(socket: Socket, frame: Buffer, resolve: () => void, reject: (err: Error) => void): void {
    const ms = this.options.writeTimeoutMs ?? 30_000
    const timer = setTimeout(() => this.#stall(socket, ms), ms)
    timer.unref()
    socket.write(frame, (err) => {
      clearTimeout(timer)
      // the write the stall cut short says why, not "write after destroy"
      if (err) reject(this.#stallErrors.get(socket) ?? err)
      else resolve()
    })
  }

  #stall(socket: Socket, ms: number): void {
    if (socket !== this.#socket || socket.destroyed) return
    this.stalls++
    this.#stalled = true
    this.#lastError = new Error(`it stopped reading: a write did not drain within ${ms} ms`)
    this.#stallErrors.set(socket, this.#failure())
    socket.destroy()
  }

  #failure(): Error {
    return new Error(
      `${this.options.target} is unreachable: ${this.#lastError ? describeFailure(this.#lastError) : 'the connection closed'}`,
    )
  }

  #connect(): void {
    if (this.#closed) return
    const { socket, ready } = this.options.connect()
    this.#socket = socket
    socket.unref()
    socket.once(ready, () => {
      if (socket !== this.#socket) return
      this.#up = true
      this.#everUp = true
      this.#demand = false
      this.#lastError = undefined
      this.#reconnect.reset()
      for (const { frame, resolve, reject } of this.#waiting.splice(0))
        this.#send(socket, frame, resolve, reject)
      this.options.onUp?.()
    })
    socket.on('error', (err) => {
      this.#lastError = err
    })
    socket.on('end', () => {
      this.#up = false
      socket.end()
    })
    socket.on('close', () => this.#onClose(socket))
    socket.on('data', () => undefined)
  }

  #onClose(socket: Socket): void {
    if (socket !== this.#socket) return
    // 'end' (the receiver's FIN) already set #up to false; what matters is whether this connection ever was up
    const wasUp = this.#everUp
    const stalled = this.#stalled
    this.#everUp = false
    this.#stalled = false
    this.#socket = undefined
    this.#up = false
    const failure = this.#failure()
    for (const { reject } of this.#waiting.splice(0)) reject(failure)
    if (this.#closed) return
    if (wasUp) this.options.onDown?.(stalled)
    if (wasUp) this.#demand = true
    if (this.#demand) this.#reconnect.schedule()
  }

  /** Ends the connection and stops reconnecting. */
  async close(): Promise<void> {
    this.#closed = true
    this.#reconnect.cancel()
    if (this.#socket) await endSocket(this.#socket, (socket) => socket.end())
  }
}
