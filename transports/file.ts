import { closeSync, fsync, mkdirSync, openSync, write, writeSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { configure } from 'safe-stable-stringify'
import TransportStream from 'winston-transport'

/** Options of the file transport. */
export interface FileTransportOptions {
  /** The file; its directory is created if missing. */
  filename: string
  /** The least severe level written. Default `warn`. */
  level?: string
}

// circular or BigInt metadata from an app's own req.log call must not cost the line
const stringify = configure({ bigint: true, circularValue: '[Circular]', deterministic: false })
const RETRY_MS = 1000

/** One JSON line: reports are JSON-safe, so the native stringify serves; an app's own odd metadata falls back to the safe one. */
function toLine(info: Record<string | symbol, unknown>): string {
  try {
    return JSON.stringify(info)
  } catch {
    return stringify(info)
  }
}

/**
 * Appends every report as one JSON line (the report's fields plus `level` and
 * `message`), ready for `jq` or a log shipper. Lines are batched into one
 * write while a write is in flight, so an error storm costs few syscalls, and
 * `close()` of the logger resolves only once every line is on disk.
 *
 * @example
 * ```ts
 * createFaultline({ transports: [new FileTransport({ filename: 'var/log/errors.log' })] })
 * ```
 */
export class FileTransport extends TransportStream {
  readonly filename: string
  #fd: number | undefined
  #pending: Buffer[] = []
  #pendingInfos: unknown[] = []
  #writing = false
  #drained: Array<() => void> = []
  #retry: NodeJS.Timeout | undefined

  constructor(options: FileTransportOptions) {
    super({ level: options.level ?? 'warn' })
    this.filename = resolve(options.filename)
    // opened at once, so a path that cannot be written fails at start-up, not at the first error
    mkdirSync(dirname(this.filename), { recursive: true })
    this.#fd = openSync(this.filename, 'a', 0o640)
  }

  override log(info: Record<string | symbol, unknown>, callback: () => void): void {
    this.#pending.push(Buffer.from(`${toLine(info)}\n`, 'utf8'))
    this.#pendingInfos.push(info)
    this.#pump()
    callback()
  }

  #pump(): void {
    if (this.#writing || this.#retry) return
    if (this.#pending.length === 0 || this.#fd === undefined) {
      for (const resolve of this.#drained.splice(0)) resolve()
      return
    }
    const chunk = Buffer.concat(this.#pending)
    const infos = this.#pendingInfos
    this.#pending = []
    this.#pendingInfos = []
    this.#writing = true
    write(this.#fd, chunk, 0, chunk.length, null, (err, written) => {
      this.#writing = false
      if (err) {
        // a full disk or a lost mount: keep the lines and try again, never drop them silently
        this.#pending.unshift(chunk)
        this.#pendingInfos.unshift(...infos)
        this.emit('warn', err)
        this.#retry = setTimeout(() => {
          this.#retry = undefined
          this.#pump()
        }, RETRY_MS).unref()
        return
      }
      if (written < chunk.length) this.#pending.unshift(chunk.subarray(written))
      else for (const info of infos) this.emit('logged', info)
      this.#pump()
    })
  }

  /** Resolves once every line handed to the transport is written. */
  flush(): Promise<void> {
    return new Promise((resolve) => {
      this.#drained.push(resolve)
      this.#pump()
    })
  }

  /** For a process about to die: the line is on disk before this returns. */
  logSync(info: Record<string | symbol, unknown>): void {
    if (this.#fd === undefined) return
    this.flushSync()
    writeSync(this.#fd, `${toLine(info)}\n`)
  }

  /** Writes what is still pending synchronously: for a process about to exit. */
  flushSync(): void {
    if (this.#fd === undefined || this.#writing || this.#pending.length === 0) return
    const chunk = Buffer.concat(this.#pending)
    this.#pending = []
    this.#pendingInfos = []
    writeSync(this.#fd, chunk)
  }

  override _final(callback: (error?: Error | null) => void): void {
    void this.flush().then(() => {
      if (this.#fd === undefined) return callback()
      fsync(this.#fd, () => {
        this.#closeFile()
        callback()
      })
    })
  }

  override close(): void {
    if (this.#retry) clearTimeout(this.#retry)
    this.#retry = undefined
    this.flushSync()
    this.#closeFile()
  }

  #closeFile(): void {
    if (this.#fd === undefined || this.#writing) return
    closeSync(this.#fd)
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
