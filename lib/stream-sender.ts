import type { Socket } from 'node:net'

/** How a `StreamSender` reaches its receiver and reports trouble. */
export interface StreamSenderOptions {
  /** Opens a new connection (net or tls); `ready` names the event that says it can take data. */
  connect: () => { socket: Socket; ready: 'connect' | 'secureConnect' }
  /** Frames kept while the receiver is away; past it the oldest are dropped and counted. */
  queueSize: number
  /** Where messages go, for warnings. */
  target: string
  /** Problems and recoveries, once per outage: never one per message. */
  onWarn: (err: Error) => void
  /** Called when a connection comes up after frames had to be dropped, with how many. */
  onDropped?: (count: number) => void
  minBackoffMs?: number
  maxBackoffMs?: number
}

/** Counts of one sender's life. */
export interface SenderStats {
  sent: number
  queued: number
  dropped: number
  reconnects: number
}

/**
 * Sends framed messages over a stream connection that may come and go: a
 * bounded queue holds them while the receiver is away, reconnection uses
 * capped, jittered backoff, frames whose write never completed are sent
 * again, and what the bound forced out is counted and announced once the
 * receiver is back. Sockets are unref'd, so logging never keeps a process
 * alive; `close()` flushes within its timeout and stops reconnecting.
 */
export class StreamSender {
  #socket: Socket | undefined
  #up = false
  #closed = false
  #queue: Buffer[] = []
  #unconfirmed = new Set<Buffer>()
  #timer: NodeJS.Timeout | undefined
  #backoff: number
  #outage = false
  #droppedSinceUp = 0
  #waiters: Array<() => void> = []
  #stats: SenderStats = { sent: 0, queued: 0, dropped: 0, reconnects: 0 }

  constructor(private readonly options: StreamSenderOptions) {
    this.#backoff = options.minBackoffMs ?? 250
  }

  /** Queues one frame and sends it as soon as the connection allows; an `exempt` frame (a notice about the queue itself) never counts against the bound. */
  send(frame: Buffer, exempt = false): void {
    if (this.#closed) {
      this.#stats.dropped++
      return
    }
    if (exempt) this.#queue.unshift(frame)
    else this.#queue.push(frame)
    if (!exempt && this.#queue.length > this.options.queueSize) {
      this.#queue.shift()
      this.#stats.dropped++
      this.#droppedSinceUp++
    }
    if (this.#up) this.#pump()
    else if (!this.#socket && !this.#timer) this.#connect()
  }

  stats(): SenderStats {
    return { ...this.#stats, queued: this.#queue.length + this.#unconfirmed.size }
  }

  #connect(): void {
    this.#timer = undefined
    if (this.#closed) return
    const { socket, ready } = this.options.connect()
    this.#socket = socket
    socket.unref()
    socket.once(ready, () => this.#onUp(socket))
    socket.on('error', (err) => this.#warnOnce(err))
    // a receiver that shuts down sends FIN: stop writing at once, so nothing goes into a dying connection
    socket.on('end', () => {
      this.#up = false
      socket.end()
    })
    socket.on('close', () => this.#onClose(socket))
    socket.on('data', () => undefined)
  }

  #onUp(socket: Socket): void {
    if (socket !== this.#socket) return
    this.#up = true
    this.#backoff = this.options.minBackoffMs ?? 250
    if (this.#outage) {
      this.#outage = false
      this.options.onWarn(new Error(`${this.options.target} is reachable again`))
    }
    if (this.#droppedSinceUp > 0) {
      const dropped = this.#droppedSinceUp
      this.#droppedSinceUp = 0
      this.options.onDropped?.(dropped)
    }
    this.#pump()
  }

  #pump(): void {
    const socket = this.#socket
    while (this.#up && socket && this.#queue.length) {
      const frame = this.#queue.shift()!
      this.#unconfirmed.add(frame)
      const more = socket.write(frame, (err) => {
        if (err) return
        this.#unconfirmed.delete(frame)
        this.#stats.sent++
        this.#settle()
      })
      if (!more) {
        socket.once('drain', () => this.#pump())
        return
      }
    }
    this.#settle()
  }

  #onClose(socket: Socket): void {
    if (socket !== this.#socket) return
    this.#socket = undefined
    this.#up = false
    // frames whose write never completed go out again, first, in their order
    if (this.#unconfirmed.size) {
      this.#queue.unshift(...this.#unconfirmed)
      this.#unconfirmed.clear()
    }
    if (this.#closed) return this.#settle(true)
    this.#stats.reconnects++
    const delay = this.#backoff * (0.8 + Math.random() * 0.4)
    this.#backoff = Math.min(this.#backoff * 2, this.options.maxBackoffMs ?? 30_000)
    this.#timer = setTimeout(() => this.#connect(), delay)
    this.#timer.unref()
  }

  #warnOnce(err: Error): void {
    if (this.#outage || this.#closed) return
    this.#outage = true
    const code = (err as NodeJS.ErrnoException).code
    const reason = /CERT|SELF_SIGNED|UNABLE_TO|ALTNAME|certificate/i.test(`${code} ${err.message}`)
      ? `its TLS certificate was refused (${err.message}); nothing is sent until a trusted certificate answers`
      : err.message
    this.options.onWarn(new Error(`${this.options.target} is unreachable: ${reason}; messages are queued (up to ${this.options.queueSize}) and sent when it is back`))
  }

  #settle(force = false): void {
    if (!force && (this.#queue.length || this.#unconfirmed.size)) return
    for (const resolve of this.#waiters.splice(0)) resolve()
  }

  /** Resolves once everything queued was handed to the connection, or the timeout passed. */
  flush(timeoutMs: number): Promise<void> {
    if (!this.#queue.length && !this.#unconfirmed.size) return Promise.resolve()
    if (!this.#up && !this.#socket && !this.#timer) this.#connect()
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs)
      this.#waiters.push(() => {
        clearTimeout(timer)
        resolve()
      })
    })
  }

  /** Flushes within the timeout, then ends the connection and stops reconnecting. */
  async close(timeoutMs: number): Promise<void> {
    await this.flush(timeoutMs)
    this.#closed = true
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
    const socket = this.#socket
    if (!socket) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        socket.destroy()
        resolve()
      }, 500)
      timer.unref()
      socket.once('close', () => {
        clearTimeout(timer)
        resolve()
      })
      socket.end()
    })
  }
}
