import type { Pending } from './lines.js'

/**
 * The lines waiting for the disk, in order, within a bound of bytes. They stay queued while they are
 * written, so the bound counts them and a failed write keeps them in order; a write takes whole lines
 * off, and a line written in part keeps its rest.
 */
export class PendingLines {
  #lines: Pending[] = []
  #bytes = 0

  constructor(private readonly maxBytes: number) {}

  get length(): number {
    return this.#lines.length
  }

  get bytes(): number {
    return this.#bytes
  }

  /** Queues a line at the end; false, and nothing queued, when the bound has no room for it. */
  push(bytes: Buffer, info?: unknown): boolean {
    if (this.#bytes + bytes.length > this.maxBytes) return false
    this.#lines.push({ bytes, info })
    this.#bytes += bytes.length
    return true
  }

  /** Puts a line first, whatever the bound (the notice of what the bound dropped). */
  unshift(bytes: Buffer): void {
    this.#lines.unshift({ bytes })
    this.#bytes += bytes.length
  }

  /** The lines from `from` on, as one chunk to write. */
  chunk(from = 0): Buffer {
    return Buffer.concat(this.#lines.slice(from).map((p) => p.bytes))
  }

  /** Takes `written` bytes off `lines` lines from line `from` on (0: the front); returns the lines done. */
  take(lines: number, written: number, from = 0): Pending[] {
    let left = written
    let done = 0
    for (; done < lines && left > 0; done++) {
      const line = this.#lines[from + done]!
      const n = Math.min(left, line.bytes.length)
      left -= n
      this.#bytes -= n
      if (n < line.bytes.length) {
        line.bytes = line.bytes.subarray(n)
        break
      }
    }
    // one splice for the lines done: a line at a time would move the rest of the queue each time
    return this.#lines.splice(from, done)
  }

  clear(): void {
    this.#lines = []
    this.#bytes = 0
  }
}
