// what is kept for resending after a plain TCP connection drops, whatever `inDoubtMs` says
const IN_DOUBT_MAX_UNITS = 10_000
const IN_DOUBT_MAX_BYTES = 16 * 1024 * 1024

/** One frame written, and when. */
export interface InDoubtUnit {
  key: string
  value: string
  at: number
}

/**
 * The frames written over plain TCP or TLS in the last `inDoubtMs`, for
 * sending again should the connection drop, bounded in count and bytes. A
 * tail kept past `inDoubtMs` for a stall cost a storm 50 MB of peak memory
 * for 8 MB of frames (each frame an object the collector must keep), so a
 * stall resends what `inDoubtMs` covers: set it above `writeTimeoutMs`.
 */
export class InDoubt {
  #units: InDoubtUnit[] = []
  #bytes = 0

  constructor(private readonly inDoubtMs: number) {}

  /** A frame was written: it stays in doubt for `inDoubtMs`, within the bounds. */
  add(key: string, frame: string): void {
    const now = Date.now()
    this.#units.push({ key, value: frame, at: now })
    this.#bytes += frame.length
    const horizon = now - this.inDoubtMs
    let drop = 0
    while (
      drop < this.#units.length &&
      (this.#units[drop]!.at < horizon ||
        this.#units.length - drop > IN_DOUBT_MAX_UNITS ||
        this.#bytes > IN_DOUBT_MAX_BYTES)
    ) {
      this.#bytes -= this.#units[drop]!.value.length
      drop++
    }
    if (drop) this.#units.splice(0, drop)
  }

  /**
   * The connection dropped: what went out within `inDoubtMs` is taken for
   * resending, the rest forgotten.
   */
  take(): InDoubtUnit[] {
    const horizon = Date.now() - this.inDoubtMs
    const again = this.#units.filter((unit) => unit.at >= horizon)
    this.#units = []
    this.#bytes = 0
    return again
  }
}
