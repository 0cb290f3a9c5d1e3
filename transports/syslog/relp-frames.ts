/** One frame as the receiver sent it. */
export interface Frame {
  txnr: number
  command: string
  data: string
}

// a receiver's answers are a status line and its offers: far below this; librelp's own default limit is 128 KiB
export const MAX_ANSWER_BYTES = 64 * 1024
// a frame header is "TXNR SP COMMAND SP DATALEN": 9 + 1 + 32 + 1 + 9 digits at most, then SP or LF
const MAX_HEADER = 53

/**
 * The receiver broke the protocol: an oversized, malformed or unterminated
 * frame, or answers for transactions never sent. Read by shape (`code`).
 */
export class RelpProtocolError extends Error {
  override readonly name = 'RelpProtocolError'
  readonly code = 'FAULTLINE_RELP_PROTOCOL'
}

/** Encodes one RELP frame: `TXNR SP COMMAND SP DATALEN [SP DATA] LF`. */
export function encodeFrame(txnr: number, command: string, data: Buffer): Buffer {
  const head = data.length ? `${txnr} ${command} ${data.length} ` : `${txnr} ${command} 0`
  return Buffer.concat([Buffer.from(head, 'latin1'), data, Buffer.from('\n', 'latin1')])
}

/**
 * Reads the receiver's frames as its bytes arrive, holding at most one
 * header and one frame's data (`maxDataBytes`): a frame's chunks are kept and
 * joined once, never re-joined per chunk, and a length past the bound is
 * refused as soon as the header says it, before its data arrives. Anything
 * that is not RELP throws, so a stray listener on the port is found out at
 * once rather than waited on.
 */
export class RelpFrameReader {
  #header = ''
  #fields: string[] = []
  #field = 0
  #fieldStart = 0
  #fieldLength = 0
  #parts: Buffer[] = []
  #needed = 0
  #state: 'header' | 'data' | 'trailer' = 'header'
  #frame: { txnr: number; command: string } | undefined

  constructor(private readonly maxDataBytes = MAX_ANSWER_BYTES) {}

  /** Bytes held for a frame not yet complete. */
  get bufferedBytes(): number {
    return this.#header.length + this.#parts.reduce((sum, part) => sum + part.length, 0)
  }

  /** Takes one chunk; returns the frames it completed. Throws `RelpProtocolError` on anything that is not RELP. */
  push(chunk: Buffer): Frame[] {
    const frames: Frame[] = []
    let at = 0
    while (at < chunk.length) {
      if (this.#state === 'header') at = this.#readHeader(chunk, at, frames)
      else if (this.#state === 'data') at = this.#readData(chunk, at)
      else {
        if (chunk[at] !== 0x0a)
          throw new RelpProtocolError('the receiver sent a RELP frame without its trailer')
        at++
        frames.push(this.#complete())
      }
    }
    return frames
  }

  #readHeader(chunk: Buffer, from: number, frames: Frame[]): number {
    let at = from
    while (at < chunk.length) {
      const byte = chunk[at++]!
      this.#header += String.fromCharCode(byte)
      if (this.#header.length > MAX_HEADER || !this.#acceptHeaderByte(byte))
        throw new RelpProtocolError(
          `the receiver does not speak RELP (it sent ${JSON.stringify(this.#header.slice(0, 32))})`,
        )
      if (this.#field === 3) return this.#startFrame(byte, frames, at)
    }
    return at
  }

  /** One byte of `TXNR SP COMMAND SP DATALEN (SP|LF)`, checked field by field in constant time. */
  #acceptHeaderByte(byte: number): boolean {
    const digit = byte >= 0x30 && byte <= 0x39
    const letter = byte >= 0x61 && byte <= 0x7a
    const ends = byte === 0x20 || (this.#field === 2 && byte === 0x0a)
    if (ends) {
      if (!this.#fieldLength) return false
      this.#fields.push(this.#header.slice(this.#fieldStart, -1))
      this.#field++
      this.#fieldStart = this.#header.length
      this.#fieldLength = 0
      return true
    }
    this.#fieldLength++
    if (this.#field === 1) return letter && this.#fieldLength <= 32
    return digit && this.#fieldLength <= 9
  }

  #startFrame(terminator: number, frames: Frame[], at: number): number {
    const [txnr, command, length] = [
      Number(this.#fields[0]),
      this.#fields[1]!,
      Number(this.#fields[2]),
    ]
    this.#header = ''
    this.#fields = []
    this.#field = 0
    this.#fieldStart = 0
    this.#frame = { txnr, command }
    if (length > this.maxDataBytes)
      throw new RelpProtocolError(
        `the receiver announced a RELP frame of ${length} bytes, more than the ${this.maxDataBytes} an answer may have`,
      )
    if (terminator === 0x0a) {
      if (length !== 0) throw new RelpProtocolError('the receiver sent a malformed RELP frame')
      frames.push(this.#complete())
      return at
    }
    this.#needed = length
    this.#state = length ? 'data' : 'trailer'
    return at
  }

  #readData(chunk: Buffer, at: number): number {
    const take = Math.min(this.#needed, chunk.length - at)
    this.#parts.push(chunk.subarray(at, at + take))
    this.#needed -= take
    if (!this.#needed) this.#state = 'trailer'
    return at + take
  }

  #complete(): Frame {
    const data = this.#parts.length ? Buffer.concat(this.#parts).toString('utf8') : ''
    const frame = { ...this.#frame!, data }
    this.#parts = []
    this.#frame = undefined
    this.#state = 'header'
    return frame
  }
}
