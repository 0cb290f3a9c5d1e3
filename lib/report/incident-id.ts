import { randomFillSync } from 'node:crypto'

// Crockford's base32: no I, L, O or U, so an id read aloud over the phone survives.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
const POOL_SIZE = 12 * 256
const pool = Buffer.alloc(POOL_SIZE)
let offset = POOL_SIZE

/**
 * A short incident id a user can quote to support, such as `7KQ2-M9XD-4TRA`:
 * 60 random bits in Crockford base32, so ids from many processes do not collide.
 *
 * @example
 * ```ts
 * createIncidentId() // '7KQ2-M9XD-4TRA'
 * ```
 */
export function createIncidentId(): string {
  // random bytes come from a pool, so an error storm costs one syscall per 256 ids
  if (offset + 12 > POOL_SIZE) {
    randomFillSync(pool)
    offset = 0
  }
  let id = ''
  for (let i = 0; i < 12; i++) {
    if (i === 4 || i === 8) id += '-'
    id += ALPHABET[pool[offset + i]! & 31]
  }
  offset += 12
  return id
}

/** Whether a string has the shape of an incident id. */
export function isIncidentId(value: string): boolean {
  return /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/.test(value)
}
