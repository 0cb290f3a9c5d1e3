import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { FaultlineConfigError } from './options.js'

/** Throws the start-up error for a transport option, naming the field. */
export function failOption(field: string, message: string): never {
  throw new FaultlineConfigError(field, `faultline: option "${field}" ${message}`)
}

/** A TLS CA setting as PEM texts: each item is PEM already, or the path of a PEM file read now, at start-up. */
export function readCaOption(ca: string | string[], field: string): string[] {
  return (Array.isArray(ca) ? ca : [ca]).map((item) => {
    if (item.includes('-----BEGIN')) return item
    try {
      return readFileSync(resolve(item), 'utf8')
    } catch (err) {
      return failOption(field, `names a CA file that cannot be read: ${(err as Error).message}`)
    }
  })
}
