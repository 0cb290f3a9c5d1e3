import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import winston from 'winston'

/** Options of the file transport. */
export interface FileTransportOptions {
  /** The file; its directory is created if missing. */
  filename: string
  /** The least severe level written. Default `warn`. */
  level?: string
}

/**
 * A file that receives every report as one JSON line, appended: the report's
 * own fields plus `level` and `message`, ready for `jq` or a log shipper.
 *
 * @example
 * ```ts
 * createFaultline({ transports: [createFileTransport({ filename: 'var/log/errors.log' })] })
 * ```
 */
export function createFileTransport(options: FileTransportOptions): winston.transport {
  const filename = resolve(options.filename)
  mkdirSync(dirname(filename), { recursive: true })
  return new winston.transports.File({
    filename,
    level: options.level ?? 'warn',
    format: winston.format.json(),
  })
}
