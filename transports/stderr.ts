import TransportStream from 'winston-transport'
import type { ReportTransport } from '../lib/delivery/transport-contract.js'
import { formatLine } from '../lib/report/format-line.js'

/** Options of the stderr transport. */
export interface StderrTransportOptions extends TransportStream.TransportStreamOptions {
  /** Where the lines go; `process.stderr` by default. */
  stream?: NodeJS.WritableStream
  /** ANSI colours; by default on when the stream is a terminal. */
  colors?: boolean
}

/**
 * Writes every report as readable text to stderr: a header line per report,
 * and the stack for errors and tracebacks.
 *
 * @example
 * ```ts
 * createFaultline({ transports: [new StderrTransport({ level: 'error' })], stderr: false })
 * ```
 */
export class StderrTransport extends TransportStream implements ReportTransport {
  readonly name = 'stderr'
  readonly #stream: NodeJS.WritableStream
  readonly #colors: boolean

  constructor(options: StderrTransportOptions = {}) {
    super(options)
    this.#stream = options.stream ?? process.stderr
    this.#colors = options.colors ?? (this.#stream as { isTTY?: boolean }).isTTY === true
  }

  /** For a process about to die: written at once. */
  logSync(info: Record<string, unknown>): void {
    this.#stream.write(formatLine(info, { colors: this.#colors }))
  }

  override log(info: Record<string, unknown>, callback: () => void): void {
    try {
      this.#stream.write(formatLine(info, { colors: this.#colors }))
      setImmediate(() => this.emit('logged', info))
    } catch (err) {
      this.emit('warn', err)
    }
    callback()
  }
}
