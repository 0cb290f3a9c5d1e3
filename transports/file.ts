import { fsync, write, writeSync } from 'node:fs'
import { resolve } from 'node:path'
import { setTransportNotices } from '../lib/notices.js'
import TransportStream from 'winston-transport'
import type { ReportTransport } from '../lib/contract/transport-contract.js'
import { flushOnExit, stopFlushingOnExit } from './delivery/exit-flush.js'
import { describeFailure, toLine } from './file/lines.js'
import { FileLosses } from './file/losses.js'
import { checkMoved, CHECK_MS, closeQuietly, identityOf, openAppend } from './file/follow.js'
import { InFlightWrite } from './file/in-flight.js'
import { PendingLines } from './file/pending.js'
import { DEFAULT_BUFFER_BYTES, type FileStats, type FileTransportOptions } from './file/options.js'

const RETRY_MS = 1000
// a storm's lines go out together, one write per 10 ms at most: a write per line costs the core a thread hand-off each
const BATCH_MS = 10
/**
 * Appends every report as one JSON line (the report's fields plus `level` and
 * `message`), ready for `jq` or a log shipper. Lines are batched into one
 * write while a write is in flight, so an error storm costs few syscalls, and
 * `close()` of the logger resolves only once every line is on disk. While the
 * file cannot be written (a full disk), lines wait in memory up to
 * `maxBufferBytes`; what is beyond is dropped, said once per outage, and
 * counted in a line of its own when writing works again.
 *
 * It follows its file through log rotation: `reopen()` (and SIGHUP under
 * `handleSignals`) opens the path again, and the path is checked at most once
 * a second while lines are written, so a rename-and-create is followed on its
 * own; a copytruncate needs nothing (appends go on at the new end). A batch in
 * flight finishes in the old file, the next goes to the new one: no line is
 * lost or written twice across the switch.
 *
 * @example
 * ```ts
 * createFaultline({ transports: [new FileTransport({ filename: 'var/log/errors.log' })] })
 * ```
 */
export class FileTransport extends TransportStream implements ReportTransport {
  readonly name = 'file'
  readonly filename: string
  #fd: number | undefined
  readonly #pending: PendingLines
  #writing = false
  readonly #inFlight = new InFlightWrite()
  #drained: Array<() => void> = []
  #retry: NodeJS.Timeout | undefined
  readonly #losses: FileLosses
  #closed = false
  #batch: NodeJS.Timeout | undefined
  #stats = { delivered: 0, retried: 0, dropped: 0 }
  /** Device and inode of the file open now, to tell when the path names another. */
  #identity: string | undefined
  #reopenWanted = false
  #checkedAt = Date.now()

  constructor(options: FileTransportOptions) {
    super({ level: options.level ?? 'warn' })
    setTransportNotices(this, options.notices)
    this.filename = resolve(options.filename)
    const maxBufferBytes = options.maxBufferBytes ?? DEFAULT_BUFFER_BYTES
    this.#losses = new FileLosses(this, this.filename, maxBufferBytes)
    this.#pending = new PendingLines(maxBufferBytes)
    // opened at once, so a path that cannot be written fails at start-up, not at the first error
    this.#fd = openAppend(this.filename)
    this.#identity = identityOf(this.#fd)
    flushOnExit(this)
  }

  /**
   * Opens the file's path again, for log rotation: lines from now on go to
   * the file the path names now (created if missing). A write in flight
   * finishes in the old file first. Never throws: a path that cannot be
   * opened keeps the old file, with a warning.
   */
  reopen(): void {
    if (this.#closed) return
    this.#reopenWanted = true
    if (!this.#writing) this.#swapFile()
  }

  #swapFile(): void {
    if (!this.#reopenWanted || this.#closed) return
    this.#reopenWanted = false
    let fd: number
    try {
      fd = openAppend(this.filename)
    } catch (err) {
      this.emit(
        'warn',
        new Error(
          `cannot reopen ${this.filename} (${describeFailure(err)}); writing on to the file open before`,
        ),
      )
      return
    }
    if (this.#fd !== undefined) closeQuietly(this.#fd)
    this.#fd = fd
    this.#identity = identityOf(fd)
  }

  /** At most once a second, and only while lines are written: has the path been rotated away? */
  #checkRotation(): void {
    const now = Date.now()
    if (now - this.#checkedAt < CHECK_MS) return
    this.#checkedAt = now
    checkMoved(this.filename, this.#identity, () => this.reopen())
  }

  override log(info: Record<string | symbol, unknown>, callback: () => void): void {
    // the record is held until written only for someone waiting on it
    const held = this.listenerCount('logged') > 0 ? info : undefined
    this.#enqueue(Buffer.from(`${toLine(info)}\n`, 'utf8'), held)
    this.#schedule()
    callback()
  }

  #schedule(): void {
    if (this.#batch || this.#writing || this.#retry) return
    this.#batch = setTimeout(() => {
      this.#batch = undefined
      this.#pump()
    }, BATCH_MS).unref()
  }

  stats(): FileStats {
    return {
      ...this.#stats,
      queued: this.#pending.length,
      queuedBytes: this.#pending.bytes,
      spooled: 0,
    }
  }

  #enqueue(bytes: Buffer, info?: unknown): void {
    if (this.#closed || !this.#pending.push(bytes, info)) this.#drop(1)
  }

  #drop(lines: number): void {
    this.#stats.dropped += lines
    this.#losses.drop(lines, this.#closed)
  }

  #pump(): void {
    if (this.#writing || this.#retry) return
    this.#swapFile()
    if (this.#pending.length === 0 || this.#fd === undefined) return this.#settleWaiters()
    this.#checkRotation()
    const lines = this.#pending.length
    const chunk = this.#pending.chunk()
    this.#writing = true
    const number = this.#inFlight.begin(this.#fd, chunk.length, lines)
    write(this.#fd, chunk, 0, chunk.length, null, (err, written) => {
      this.#writing = false
      if (this.#closed) return this.#closeFile()
      if (this.#inFlight.wasAbandoned(number)) {
        // flushSync wrote these lines itself; what is pending now came after them
        if (this.#pending.length) this.#schedule()
        return
      }
      if (err) return this.#failed(err)
      this.#wrote(lines, written)
      this.#recovered()
      if (this.#drained.length) this.#pump()
      else if (this.#pending.length) this.#schedule()
    })
  }

  /** Takes written bytes off the queue, from line `from` on (0: the front), and announces the lines done. */
  #wrote(lines: number, written: number, from = 0): void {
    for (const line of this.#pending.take(lines, written, from)) {
      this.#stats.delivered++
      if (line.info !== undefined) this.emit('logged', line.info)
    }
  }

  /** A full disk or a lost mount: the lines stay (within the bound), one warning per outage, a retry every second. */
  #failed(err: unknown): void {
    this.#stats.retried++
    this.#losses.fail(err)
    // nothing more can be done right now: whoever waits for the lines is let go
    this.#settleWaiters()
    this.#retry = setTimeout(() => {
      this.#retry = undefined
      this.#pump()
    }, RETRY_MS).unref()
  }

  /** A write went through: an outage ends, and what was dropped is said in the file itself, once. */
  #recovered(): void {
    const bytes = this.#losses.recover()
    if (!bytes) return
    // the notice is owed whatever the bound: it is about the bound
    this.#pending.unshift(bytes)
  }

  #settleWaiters(): void {
    for (const resolve of this.#drained.splice(0)) resolve()
  }

  /** Resolves once every line handed to the transport is written, or the file cannot be written now, or `timeoutMs` passed. */
  flush(timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = timeoutMs === undefined ? undefined : setTimeout(resolve, timeoutMs).unref()
      this.#drained.push(() => {
        clearTimeout(timer)
        resolve()
      })
      if (this.#losses.outage) return this.#settleWaiters()
      this.#pump()
    })
  }

  /** For a process about to die: the line is on disk before this returns, if the disk takes it. */
  logSync(info: Record<string | symbol, unknown>): void {
    if (this.#fd === undefined) return
    this.#enqueue(Buffer.from(`${toLine(info)}\n`, 'utf8'), info)
    this.flushSync()
  }

  /** Writes what is still pending synchronously: for a process about to exit. Never throws; what the disk refuses stays pending. */
  flushSync(): void {
    if (!this.#writing) this.#swapFile()
    // a write in flight keeps its lines (the disk has them, or will); the ones queued after it go now
    let from = this.#writing ? this.#inFlight.lines : 0
    if (this.#fd === undefined || this.#pending.length <= from) return
    if (from > 0) from = this.#inFlight.settleBeforeSync(this.#fd)
    const lines = this.#pending.length - from
    try {
      this.#wrote(lines, writeSync(this.#fd, this.#pending.chunk(from)), from)
    } catch (err) {
      if (!this.#losses.outage) this.#failed(err)
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    void this.flush().then(() => {
      if (this.#fd === undefined || this.#losses.outage) return callback()
      fsync(this.#fd, () => callback())
    })
  }

  /** Writes what it can, counts what the disk still refuses as dropped, and releases the file. Never throws. */
  override close(): void {
    if (this.#closed) return
    if (this.#retry) clearTimeout(this.#retry)
    this.#retry = undefined
    clearTimeout(this.#batch)
    this.#batch = undefined
    this.flushSync()
    this.#closed = true
    stopFlushingOnExit(this)
    // lines of a write still in flight are the disk's now; the rest are lost
    const lost = this.#pending.length - (this.#writing ? this.#inFlight.lines : 0)
    if (lost) {
      this.#drop(lost)
      this.#losses.sayLost(lost)
    }
    this.#pending.clear()
    this.#settleWaiters()
    this.#closeFile()
  }

  #closeFile(): void {
    // a write still in flight closes the file from its callback
    if (this.#fd === undefined || this.#writing) return
    closeQuietly(this.#fd)
    this.#fd = undefined
  }
}

/**
 * Builds the file transport from the `file` option.
 *
 * @example
 * ```ts
 * const transport = createFileTransport({ filename: 'var/log/errors.log', level: 'warn' })
 * ```
 */
export function createFileTransport(options: FileTransportOptions): FileTransport {
  return new FileTransport(options)
}
