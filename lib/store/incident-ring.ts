import { incidentKey } from './report-bounds.js'
import type { ReportKind } from '../report/report.js'
import type { IncidentRecord } from './types.js'

/**
 * Bytes per incident: fixed-size slots, so the oldest is overwritten in
 * place. Room for a URL of about 500 ASCII characters; a longer one is cut
 * and ends in `…`, as the store's other copies of a URL do.
 */
const SLOT = 768
const SLOTS_PER_CHUNK = 1024
const KINDS: ReportKind[] = ['warning', 'error', 'traceback']
// caps per field, in bytes; the URL gets what is left of the slot
const MAX_ID = 40
const MAX_METHOD = 24
const MAX_HOST = 100
const MAX_FINGERPRINT = 64

// at (f64), time (f64), status (u16), kind (u8), flags (u8)
const HEADER = 20
const URL_CUT = 1
const HAS_URL = 2
const HAS_METHOD = 4

/** What the ring keeps of one incident; it is looked up by its id as `incidentKey` makes it. */
export interface RingIncident {
  at: number
  record: IncidentRecord
}

/**
 * The local incident lookup, kept outside the JavaScript heap: every
 * incident is a fixed slot in buffers allocated a chunk at a time, the
 * oldest overwritten first. A storm of 10 000 errors then leaves no objects
 * for the garbage collector to copy and mark (a map of 10 000 records added
 * about 20 MB to a storm's peak memory and doubled its p99 latency). A lookup
 * walks the slots, oldest first, so the first incident with an id wins:
 * under a millisecond for 10 000.
 */
export class IncidentRing {
  readonly #capacity: number
  readonly #chunks: Buffer[] = []
  /** The slot the next incident goes to. */
  #next = 0
  #count = 0

  constructor(capacity: number) {
    this.#capacity = Math.max(1, capacity)
  }

  add({ at, record }: RingIncident): void {
    const slot = this.#next
    this.#next = (slot + 1) % this.#capacity
    if (this.#count < this.#capacity) this.#count++
    const buf = this.#chunkOf(slot)
    const start = (slot % SLOTS_PER_CHUNK) * SLOT
    const end = start + SLOT
    buf.writeDoubleLE(at, start)
    const time = Date.parse(record.time)
    buf.writeDoubleLE(Number.isNaN(time) ? at : time, start + 8)
    const status = record.status
    // an HTTP status; anything else a caller passes is left out rather than thrown on
    buf.writeUInt16LE(
      Number.isInteger(status) && status! > 0 && status! <= 0xffff ? status! : 0,
      start + 16,
    )
    buf[start + 18] = Math.max(0, KINDS.indexOf(record.kind))
    let flags = 0
    let pos = start + HEADER
    const keyLength = writeAsciiKey(buf, pos + 1, record.id, MAX_ID)
    if (keyLength === undefined) pos = writeShort(buf, pos, incidentKey(record.id), MAX_ID)
    else {
      buf[pos] = keyLength
      pos += 1 + keyLength
    }
    pos = writeShort(buf, pos, record.id, MAX_ID)
    pos = writeShort(buf, pos, record.fingerprint, MAX_FINGERPRINT)
    pos = writeShort(buf, pos, record.host, MAX_HOST)
    if (record.method !== undefined) {
      flags |= HAS_METHOD
      pos = writeShort(buf, pos, record.method, MAX_METHOD)
    }
    if (record.url !== undefined) {
      flags |= HAS_URL
      const written = buf.write(record.url, pos + 2, end - pos - 2, 'utf8')
      buf.writeUInt16LE(written, pos)
      if (written < Buffer.byteLength(record.url)) flags |= URL_CUT
    }
    buf[start + 19] = flags
  }

  /** The first incident kept under `key` recorded after `horizon`, oldest first. */
  find(key: string, horizon: number): IncidentRecord | undefined {
    const wanted = Buffer.from(key, 'utf8')
    if (wanted.length > MAX_ID) return undefined
    for (let i = 0; i < this.#count; i++) {
      const slot = (this.#next - this.#count + i + this.#capacity) % this.#capacity
      const buf = this.#chunks[Math.floor(slot / SLOTS_PER_CHUNK)]!
      const start = (slot % SLOTS_PER_CHUNK) * SLOT
      const keyAt = start + HEADER
      if (buf[keyAt] !== wanted.length) continue
      if (buf.compare(wanted, 0, wanted.length, keyAt + 1, keyAt + 1 + wanted.length) !== 0)
        continue
      if (buf.readDoubleLE(start) <= horizon) continue
      return readRecord(buf, start)
    }
    return undefined
  }

  #chunkOf(slot: number): Buffer {
    const index = Math.floor(slot / SLOTS_PER_CHUNK)
    // a chunk is allocated when its first slot is: an app with few errors never holds the whole bound
    return (this.#chunks[index] ??= Buffer.alloc(
      Math.min(SLOTS_PER_CHUNK, this.#capacity - index * SLOTS_PER_CHUNK) * SLOT,
    ))
  }
}

/** A string of at most `max` bytes, after a one-byte length; returns where the next field starts. */
function writeShort(buf: Buffer, at: number, value: string, max: number): number {
  const written = writeAscii(buf, at + 1, value, max) ?? buf.write(value, at + 1, max, 'utf8')
  buf[at] = written
  return at + 1 + written
}

// ids, fingerprints, methods and hosts are short ASCII: copied here, without a call into C++ per field
function writeAscii(buf: Buffer, at: number, value: string, max: number): number | undefined {
  const length = Math.min(value.length, max)
  for (let i = 0; i < length; i++) {
    const code = value.charCodeAt(i)
    if (code > 127) return undefined
    buf[at + i] = code
  }
  return length
}

// what `incidentKey` removes, as ASCII codes: whitespace and the dash
const SKIPPED = new Set([9, 10, 11, 12, 13, 32, 45])

/**
 * The lookup key of an ASCII id, written as `incidentKey` makes it (no
 * spaces or dashes, upper case) without building the string; `undefined`
 * for any other id.
 */
export function writeAsciiKey(
  buf: Buffer,
  at: number,
  id: string,
  max: number,
): number | undefined {
  let written = 0
  for (let i = 0; i < id.length; i++) {
    const code = id.charCodeAt(i)
    if (code > 127) return undefined
    if (SKIPPED.has(code)) continue
    if (written === max) return undefined
    buf[at + written++] = code >= 97 && code <= 122 ? code - 32 : code
  }
  return written
}

function readShort(buf: Buffer, at: number): [string, number] {
  const length = buf[at]!
  return [buf.toString('utf8', at + 1, at + 1 + length), at + 1 + length]
}

function readRecord(buf: Buffer, start: number): IncidentRecord {
  const flags = buf[start + 19]!
  let at = start + HEADER
  ;[, at] = readShort(buf, at)
  const [id, afterId] = readShort(buf, at)
  const [fingerprint, afterFingerprint] = readShort(buf, afterId)
  const [host, afterHost] = readShort(buf, afterFingerprint)
  at = afterHost
  const record: IncidentRecord = {
    id,
    time: new Date(buf.readDoubleLE(start + 8)).toISOString(),
    fingerprint,
    kind: KINDS[buf[start + 18]!] ?? 'error',
    host,
  }
  if (flags & HAS_METHOD) {
    const [method, next] = readShort(buf, at)
    record.method = method
    at = next
  }
  if (flags & HAS_URL) {
    const length = buf.readUInt16LE(at)
    const url = buf.toString('utf8', at + 2, at + 2 + length)
    record.url = flags & URL_CUT ? `${url}…` : url
  }
  const status = buf.readUInt16LE(start + 16)
  if (status) record.status = status
  return record
}
