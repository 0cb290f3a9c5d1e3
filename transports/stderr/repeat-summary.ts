import { escapeControl, kindLabel } from '../../lib/report/format-line.js'
import { isoTime } from '../../lib/report/clock.js'

/** The repeats of one fingerprint seen since its last summary line. */
interface Repeats {
  kind: string
  message: string
  repeatOf: string
  count: number
  first: string
  last: string
}

// distinct fingerprints held between summaries: a storm of many different errors is summarised early, not held without bound
const MAX_FINGERPRINTS = 1000
const MAX_MESSAGE = 200

function readString(value: unknown): string | undefined {
  return typeof value === 'string' && value ? value : undefined
}

/**
 * Counts a storm's repeats per fingerprint, so stderr says "4,999 more of
 * this" once a second instead of a line per request. Every repeat keeps its
 * own id in the file and the incident store; stderr names the first and the
 * last of each run, which is where an operator starts a search.
 */
export class RepeatSummary {
  readonly #colors: boolean
  #runs = new Map<string, Repeats>()

  constructor(colors: boolean) {
    this.#colors = colors
  }

  /** Takes a repeat's compact report; false for a record that is no repeat (it is written as it is). */
  add(info: Record<string, unknown>): boolean {
    const repeatOf = readString(info.repeatOf)
    const fingerprint = readString(info.fingerprint)
    const id = readString(info.id)
    if (!repeatOf || !fingerprint || !id) return false
    const run = this.#runs.get(fingerprint)
    if (run) {
      run.count++
      run.last = id
      return true
    }
    this.#runs.set(fingerprint, {
      kind: readString(info.kind) ?? 'error',
      message: readString(info.message) ?? '',
      repeatOf,
      count: 1,
      first: id,
      last: id,
    })
    return true
  }

  /** Whether the map is at its bound: the summaries are due now. */
  get full(): boolean {
    return this.#runs.size >= MAX_FINGERPRINTS
  }

  get empty(): boolean {
    return this.#runs.size === 0
  }

  /** One line per fingerprint seen since the last call, and a fresh start. */
  take(): string {
    let text = ''
    const time = isoTime()
    for (const [fingerprint, run] of this.#runs) text += this.#lineOf(time, fingerprint, run)
    this.#runs.clear()
    return text
  }

  #lineOf(time: string, fingerprint: string, run: Repeats): string {
    const message = escapeControl(
      run.message.length > MAX_MESSAGE ? `${run.message.slice(0, MAX_MESSAGE)}…` : run.message,
    )
    const ids = run.count === 1 ? run.first : `first ${run.first}, last ${run.last}`
    return `${time} ${kindLabel(escapeControl(run.kind), this.#colors)} ${run.count} repeat(s) of [${escapeControl(run.repeatOf)}] ${message} fp=${escapeControl(fingerprint)} (${escapeControl(ids)})\n`
  }
}
