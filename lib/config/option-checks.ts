import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { inspect } from 'node:util'
import { FaultlineConfigError } from './options.js'

/** Describes a bad value for an error message, with any credentials in it hidden. */
export function describeValue(value: unknown): string {
  const text =
    typeof value === 'string'
      ? JSON.stringify(value)
      : inspect(value, { depth: 1, breakLength: Infinity })
  const short = text.length > 80 ? `${text.slice(0, 80)}…` : text
  const kind = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value
  return `${short.replace(/(\/\/[^:/@\s]*:)[^@\s]*@/g, '$1***@')} (${kind})`
}

/**
 * Parses a transport's URL setting once, at start-up: a URL whose scheme is
 * one of `schemes`, or the start-up error naming the field and the value
 * (its password hidden).
 *
 * @example
 * ```ts
 * parseSettingUrl('mail', 'smtp://u:p@mail.example.org:587', ['smtp:', 'smtps:']).hostname // 'mail.example.org'
 * ```
 */
export function parseSettingUrl(field: string, value: string, schemes: string[]): URL {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return failOption(
      field,
      `must be a URL (${schemes.map((s) => `${s}//…`).join(', ')}); got ${describeValue(value)}`,
    )
  }
  if (!schemes.includes(url.protocol))
    failOption(
      field,
      `must be a URL starting with ${schemes.join(' or ')}; got ${describeValue(value)}`,
    )
  return url
}

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
