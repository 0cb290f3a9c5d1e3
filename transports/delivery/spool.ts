import {
  closeSync,
  fsync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs'
import { join } from 'node:path'

/** One entry the spool holds until it is acknowledged. */
export interface SpoolEntry<T> {
  key: string
  value: T
}

/** Options of a spool. */
export interface SpoolOptions {
  /** The spool's own directory (one per transport). */
  dir: string
  /** The most bytes of unacknowledged entries kept; past it, `put` refuses. Default 64 MiB. */
  maxBytes?: number
  /** How often pending writes are fsync'd. Default 200 ms. */
  fsyncMs?: number
}

const COMPACT_BYTES = 4 * 1024 * 1024

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * A crash-safe, append-only record of what a transport still owes: `put`
 * when a unit is accepted, `ack` when it was delivered. Each process appends
 * to its own segment file (`seg-<pid>-<n>.jsonl`), so several processes can
 * share a spool directory; a new process claims the segments of processes
 * that are gone (by an atomic rename) and takes over what they left
 * unacknowledged, in order. The lines of one tick are written together,
 * fsync'd every `fsyncMs`, and `putSync`/`flushSync` serve a process about to
 * die.
 */
export class Spool<T> {
  readonly dir: string
  readonly #maxBytes: number
  #fd: number
  #path: string
  #pending = new Map<string, { value: T; bytes: number }>()
  #pendingBytes = 0
  #fileBytes = 0
  #buffer: string[] = []
  #scheduled = false
  #dirty = false
  #syncTimer: NodeJS.Timeout | undefined
  #flushed: Array<() => void> = []
  #recovered: Array<SpoolEntry<T>> = []
  #closed = false
  #seq = 0

  constructor(options: SpoolOptions) {
    this.dir = options.dir
    this.#maxBytes = options.maxBytes ?? 64 * 1024 * 1024
    mkdirSync(this.dir, { recursive: true, mode: 0o700 })
    const claimed = this.#claimOrphans()
    this.#path = this.#nextPath()
    this.#fd = openSync(this.#path, 'a', 0o600)
    // what the dead processes owed becomes ours, written down before their files go
    for (const entry of this.#readSegments(claimed)) this.#record(entry.key, entry.value, true)
    this.#recovered = [...this.#pending].map(([key, { value }]) => ({ key, value }))
    this.flushSync()
    for (const file of claimed) unlinkSync(file)
    this.#syncTimer = setInterval(() => this.#sync(), options.fsyncMs ?? 200)
    this.#syncTimer.unref()
  }

  #nextPath(): string {
    return join(this.dir, `seg-${process.pid}-${Date.now()}-${this.#seq++}.jsonl`)
  }

  #claimOrphans(): string[] {
    const claimed: string[] = []
    for (const name of readdirSync(this.dir).sort()) {
      const match = /^(?:seg|claimed)-(\d+)-.*\.jsonl$/.exec(name)
      if (!match || Number(match[1]) === process.pid || isAlive(Number(match[1]))) continue
      const target = join(this.dir, `claimed-${process.pid}-${name}`)
      try {
        // only one process can rename it: that one replays it
        renameSync(join(this.dir, name), target)
        claimed.push(target)
      } catch {
        // another process claimed it first
      }
    }
    return claimed
  }

  #readSegments(files: string[]): Array<SpoolEntry<T>> {
    const open = new Map<string, T>()
    for (const file of files) {
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        if (!line) continue
        let record: { t: string; k: string; v?: T }
        try {
          record = JSON.parse(line) as typeof record
        } catch {
          // the last line of a process killed mid-write
          continue
        }
        if (record.t === 'put') open.set(record.k, record.v as T)
        else if (record.t === 'ack') open.delete(record.k)
      }
    }
    return [...open].map(([key, value]) => ({ key, value }))
  }

  /** What earlier processes left undelivered, in the order they accepted it. Read once, at start. */
  takeRecovered(): Array<SpoolEntry<T>> {
    const recovered = this.#recovered
    this.#recovered = []
    return recovered
  }

  #record(key: string, value: T, sync: boolean): boolean {
    const line = `${JSON.stringify({ t: 'put', k: key, v: value })}\n`
    const bytes = Buffer.byteLength(line)
    if (this.#closed) return false
    if (this.#pending.has(key)) return true
    if (this.#pendingBytes + bytes > this.#maxBytes) return false
    this.#pending.set(key, { value, bytes })
    this.#pendingBytes += bytes
    this.#append(line, sync)
    return true
  }

  /** Records a unit as owed; false when the spool is full (the caller counts it as dropped). */
  put(key: string, value: T): boolean {
    return this.#record(key, value, false)
  }

  /** `put`, written and fsync'd before it returns: for a process about to exit. */
  putSync(key: string, value: T): boolean {
    const ok = this.#record(key, value, true)
    this.flushSync()
    return ok
  }

  /** Records a unit as delivered. */
  ack(key: string): void {
    const entry = this.#pending.get(key)
    if (!entry) return
    this.#pending.delete(key)
    this.#pendingBytes -= entry.bytes
    this.#append(`${JSON.stringify({ t: 'ack', k: key })}\n`, false)
    if (this.#fileBytes > COMPACT_BYTES && this.#pendingBytes < COMPACT_BYTES / 4) this.#compact()
  }

  /** How many units and bytes are owed. */
  size(): { entries: number; bytes: number } {
    return { entries: this.#pending.size, bytes: this.#pendingBytes }
  }

  #append(line: string, sync: boolean): void {
    // a closed spool's descriptor may already belong to another file: nothing more is written through it
    if (this.#closed) return
    this.#buffer.push(line)
    this.#fileBytes += line.length
    if (!sync) this.#pump()
  }

  #pump(): void {
    // lines of one tick go out in one synchronous write: in order, and never behind an async write a crash would lose
    if (this.#scheduled) return
    this.#scheduled = true
    setImmediate(() => {
      this.#scheduled = false
      this.#writeBuffered()
      for (const resolve of this.#flushed.splice(0)) resolve()
    })
  }

  #writeBuffered(): void {
    if (!this.#buffer.length || this.#closed) return
    const chunk = this.#buffer.join('')
    this.#buffer = []
    try {
      writeSync(this.#fd, chunk)
      this.#dirty = true
      this.#failing = false
    } catch (err) {
      // a full disk: keep the lines and try again shortly; the spool never drops silently
      this.#buffer.unshift(chunk)
      setTimeout(() => this.#pump(), 1000).unref()
      if (!this.#failing) this.onError?.(err as Error)
      this.#failing = true
    }
  }

  #failing = false

  /** Told about write failures (a full disk), once per outage, so the transport can warn. The delivery line wires it. */
  onError: ((err: Error) => void) | undefined

  #sync(): void {
    if (!this.#dirty || this.#closed) return
    this.#dirty = false
    fsync(this.#fd, () => undefined)
  }

  /** Writes everything buffered and fsyncs, synchronously. */
  flushSync(): void {
    if (this.#closed) return
    this.#writeBuffered()
    fsyncSync(this.#fd)
    this.#dirty = false
  }

  /** Resolves once everything accepted is written. */
  flush(): Promise<void> {
    return new Promise((resolve) => {
      this.#flushed.push(resolve)
      this.#pump()
    })
  }

  /** Starts a fresh segment holding only what is still owed, and drops the old one. */
  #compact(): void {
    this.flushSync()
    const path = this.#nextPath()
    const lines = [...this.#pending]
      .map(([k, { value }]) => `${JSON.stringify({ t: 'put', k, v: value })}\n`)
      .join('')
    const fd = openSync(path, 'a', 0o600)
    writeSync(fd, lines)
    fsyncSync(fd)
    const old = { fd: this.#fd, path: this.#path }
    this.#fd = fd
    this.#path = path
    this.#fileBytes = lines.length
    closeSync(old.fd)
    unlinkSync(old.path)
  }

  /** Writes what is buffered; removes the segment when nothing is owed, keeps it for the next start otherwise. */
  async close(): Promise<void> {
    if (this.#closed) return
    if (this.#syncTimer) clearInterval(this.#syncTimer)
    this.#syncTimer = undefined
    await this.flush()
    this.flushSync()
    this.#closed = true
    closeSync(this.#fd)
    if (this.#pending.size === 0) unlinkSync(this.#path)
  }
}
