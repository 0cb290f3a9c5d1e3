import type { Report } from '../../lib/report/report.js'

/**
 * The whole first reports of the errors this process filed, while their
 * windows gather: a window's comment that finds its ticket deleted files it
 * again with the whole report (stack, request), not the slim form the
 * coordination keeps. At most `maxEntries` of them, within `maxBytes`; past
 * that, the comment falls back to the slim form.
 */
export class FirstReports {
  readonly #kept = new Map<string, { report: Report; bytes: number }>()
  #bytes = 0

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {}

  stats(): { heldReports: number; heldBytes: number } {
    return { heldReports: this.#kept.size, heldBytes: this.#bytes }
  }

  /** Keeps an error's first report whole when the byte budget allows. */
  keep(report: Report): void {
    this.forget(report.fingerprint)
    if (this.#kept.size >= this.maxEntries) this.forget(this.#kept.keys().next().value!)
    const bytes = JSON.stringify(report).length
    if (this.#bytes + bytes > this.maxBytes) return
    this.#kept.set(report.fingerprint, { report, bytes })
    this.#bytes += bytes
  }

  /** The whole report kept for `slim` (the window's first, as the coordination keeps it), else `slim` itself. */
  whole(slim: Report): Report {
    const kept = this.#kept.get(slim.fingerprint)?.report
    return kept?.id === slim.id ? kept : slim
  }

  /** The error's window is over: its report is needed no more. */
  forget(fingerprint: string): void {
    const kept = this.#kept.get(fingerprint)
    if (!kept) return
    this.#kept.delete(fingerprint)
    this.#bytes -= kept.bytes
  }
}
