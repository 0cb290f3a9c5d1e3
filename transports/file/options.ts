import type { TransportStats } from '../../lib/contract/transport-contract.js'
import type { NoticesOption } from '../../lib/notices.js'

/**
 * Options of the file transport.
 *
 * @example
 * ```ts
 * // a small container: 1 MiB of lines waits out a full disk, not the default 8 MiB
 * const options: FileTransportOptions = { filename: 'var/log/errors.log', maxBufferBytes: 1 << 20 }
 * createFaultline({ transports: [new FileTransport(options)] })
 * ```
 */
export interface FileTransportOptions {
  /** The file; its directory is created if missing (mode 0700), the file itself with mode 0640. */
  filename: string
  /** The least severe level written. Default `warn`. */
  level?: string
  /**
   * The most bytes of lines kept in memory while the file cannot be written
   * (a full disk, a lost mount). Past it, new lines are dropped and counted,
   * and the count is written to the file once it works again. Default 8 MiB.
   */
  maxBufferBytes?: number
  /** Where this transport's notices go when it is not one of a faultline's (which gives it its own `notices`). Default stderr. */
  notices?: NoticesOption
}

export const DEFAULT_BUFFER_BYTES = 8 * 1024 * 1024

/**
 * What the file transport did, for health checks and tests.
 *
 * @example
 * ```ts
 * const file = new FileTransport({ filename: 'var/log/errors.log' })
 * createFaultline({ transports: [file] })
 * const { queuedBytes, dropped }: FileStats = file.stats() // what a full disk holds back or loses
 * if (dropped > 0) console.warn(`${dropped} report lines lost, ${queuedBytes} bytes waiting`)
 * ```
 */
export interface FileStats extends TransportStats {
  /** Bytes of the lines waiting in memory (the file transport has no spool: `spooled` is 0). */
  queuedBytes: number
}
