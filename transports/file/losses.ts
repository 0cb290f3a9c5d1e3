// What the file transport could not write, said once per outage or streak of drops, and owed to
// the file itself as a line once writing works again.
import { sayFrom } from '../../lib/notices.js'

type Speaker = Parameters<typeof sayFrom>[0]
import { isoTime } from '../../lib/report/clock.js'
import { describeFailure, droppedNotice } from './lines.js'

/** The outage state and the drops the file does not yet say happened. */
export class FileLosses {
  /** Whether the last write failed: lines wait for the retry. */
  outage = false
  /** Lines dropped that the file does not yet say were dropped, since when. */
  #unsaid = { lines: 0, since: '' }

  constructor(
    readonly owner: Speaker,
    readonly filename: string,
    readonly maxBufferBytes: number,
  ) {}

  /** Counts `lines` dropped; the first of a streak is said, unless an outage or the shutdown says it. */
  drop(lines: number, closed: boolean): void {
    if (this.#unsaid.lines === 0) {
      this.#unsaid.since = isoTime()
      // a disk too slow for a storm, not refusing: said once per streak of drops
      if (!this.outage && !closed)
        sayFrom(
          this.owner,
          'FAULTLINE_FILE_BEHIND',
          `more than ${this.maxBufferBytes} bytes of lines wait for ${this.filename}; later ones are dropped and counted until it catches up`,
        )
    }
    this.#unsaid.lines += lines
  }

  /** A write failed: the first of an outage is said. */
  fail(err: unknown): void {
    if (this.outage) return
    this.outage = true
    sayFrom(
      this.owner,
      'FAULTLINE_FILE_DOWN',
      `cannot write to ${this.filename} (${describeFailure(err)}); up to ${this.maxBufferBytes} bytes of lines wait in memory, later ones are dropped and counted until it works again`,
    )
  }

  /** A write went through: the outage ends; returns the line saying what was dropped, owed once. */
  recover(): Buffer | undefined {
    const { lines: dropped, since } = this.#unsaid
    if (this.outage)
      sayFrom(
        this.owner,
        'FAULTLINE_FILE_BACK',
        `${this.filename} can be written again${dropped ? `; ${dropped} line(s) were dropped` : ''}`,
      )
    this.outage = false
    if (!dropped) return undefined
    this.#unsaid = { lines: 0, since: '' }
    return droppedNotice(this.filename, dropped, since)
  }

  /** At shutdown: `lost` lines could not be written. */
  sayLost(lost: number): void {
    sayFrom(
      this.owner,
      'FAULTLINE_FILE_LOST',
      `${lost} line(s) could not be written to ${this.filename} at shutdown (${this.#unsaid.lines} dropped in all since ${this.#unsaid.since})`,
    )
  }
}
