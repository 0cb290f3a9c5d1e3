import TransportStream from 'winston-transport'
import { formatLine } from '../lib/format-line.js'

/** Options of the stderr transport. */
export interface StderrTransportOptions extends TransportStream.TransportStreamOptions {
  /** Where the lines go; `process.stderr` by default. */
  stream?: NodeJS.WritableStream
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
export class StderrTransport extends TransportStream {
  readonly #stream: NodeJS.WritableStream

  constructor(options: StderrTransportOptions = {}) {
    super(options)
    this.#stream = options.stream ?? process.stderr
  }

  override log(info: Record<string, unknown>, callback: () => void): void {
    try {
      this.#stream.write(formatLine(info))
      setImmediate(() => this.emit('logged', info))
    } catch (err) {
      this.emit('warn', err)
    }
    callback()
  }
}
