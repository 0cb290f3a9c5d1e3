// The write handed to the thread pool, tracked so a process about to exit can put its last lines
// after it: a crash report must not land before the errors that led to it.
import { fstatSync } from 'node:fs'

// a disk that takes longer than this for a batch gets the exit's lines after it, or out of order
const IN_FLIGHT_WAIT_MS = 200

/** The file's size plus `bytes`, or undefined if it cannot be read. */
function sizeAfter(fd: number, bytes: number): number | undefined {
  try {
    return fstatSync(fd).size + bytes
  } catch {
    return undefined
  }
}

/** The one asynchronous write in flight: how many lines it carries and where the file ends after it. */
export class InFlightWrite {
  /** The lines of the write in flight, still at the front of the queue. */
  lines = 0
  /** The file's size once the write in flight is done, if it could be read. */
  #end: number | undefined
  /** Numbers the writes handed to the pool, so a write flushSync took over is known when it completes. */
  #number = 0
  #abandoned = 0

  /** Notes a write of `lines` lines, `bytes` long, handed to the pool; returns its number. */
  begin(fd: number, bytes: number, lines: number): number {
    this.lines = lines
    this.#end = sizeAfter(fd, bytes)
    return ++this.#number
  }

  /** Whether flushSync wrote the lines of write `number` itself. */
  wasAbandoned(number: number): boolean {
    return number === this.#abandoned
  }

  /**
   * Where a synchronous write may start in the queue: after the lines in
   * flight once the file has grown by them, else (the pool never got to them)
   * at the front, writing them again.
   */
  settleBeforeSync(fd: number): number {
    if (this.#awaitOnDisk(fd)) return this.lines
    return this.#abandon()
  }

  /**
   * The thread pool may not have written the lines in flight yet: a line
   * written now could land before them (a crash report before the errors that
   * led to it), so wait until the file has grown by them, for at most
   * IN_FLIGHT_WAIT_MS of a process that is about to exit anyway.
   */
  #awaitOnDisk(fd: number): boolean {
    const end = this.#end
    if (end === undefined) return true
    const deadline = Date.now() + IN_FLIGHT_WAIT_MS
    // the size is read once more after the deadline: a process the machine held off the CPU for
    // the whole wait must not give up on a write that landed meanwhile (its lines would go twice)
    for (;;) {
      if ((sizeAfter(fd, 0) ?? end) >= end) return true
      if (Date.now() >= deadline) return false
    }
  }

  /**
   * The pool never got to the write in flight (it is busy hashing, say): a
   * process about to die would lose those lines, so they are written now, in
   * order, before what follows. Should the queued write still run later, its
   * lines are in the file twice, each with its own incident id: twice is
   * better than lost. Its callback then finds nothing of its own to take off.
   */
  #abandon(): number {
    this.#abandoned = this.#number
    this.lines = 0
    this.#end = undefined
    return 0
  }
}
