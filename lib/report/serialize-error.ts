import { inspect } from 'node:util'
import { getErrorStatus, readField } from './error-status.js'

/**
 * A thrown value turned into plain, JSON-safe data.
 *
 * @example
 * ```ts
 * // the innermost cause names what failed (ECONNREFUSED); the outer errors say where
 * const rootCause = (e: SerializedError): SerializedError => (e.cause ? rootCause(e.cause) : e)
 * faultline.on('report', ({ id, error }) => error && console.log(id, rootCause(error).message))
 * ```
 */
export interface SerializedError {
  /** `TypeError`, `SuspiciousRequest`…; `NonError` when something that is not an error was thrown. */
  name: string
  message: string
  stack?: string
  /** For `NonError`: what was thrown (`string`, `null`, `undefined`, `number`, `object`…). */
  thrown?: string
  code?: string
  status?: number
  /** Own primitive fields of the error (`orderId`, `type`…), scrubbed like everything else. */
  fields?: Record<string, string | number | boolean | null>
  cause?: SerializedError
  /** AggregateError members. */
  errors?: SerializedError[]
}

/** Longest message kept; a megabyte message is cut, with a marker saying how much went. */
export const MAX_MESSAGE = 8 * 1024
const MAX_FRAMES = 100
const MAX_CAUSE_DEPTH = 8
const MAX_MEMBERS = 20
const MAX_FIELDS = 20
const MAX_FIELD_LENGTH = 500
const MAX_FRAME_LINE = 500
// errors serialised per thrown value, causes and members together: an AggregateError of AggregateErrors stays small
const MAX_ERRORS = 32
// messages and stacks of one chain together; past it, a cause or member keeps a short message and no stack
const MAX_CHAIN_TEXT = 128 * 1024
const SHORT_MESSAGE = 500
// causes shown by the sinks: deeper ones are serialised but left out of what people read
const MAX_SHOWN_DEPTH = 8
const SKIPPED_FIELDS = new Set([
  'name',
  'message',
  'stack',
  'cause',
  'errors',
  'status',
  'statusCode',
  'code',
  'headers',
  'expose',
])
// body-parser puts the raw request body on its errors: a body that did not parse is never copied into a report
const RAW_BODY_FIELDS = new Set(['body', 'rawBody', 'raw_body', 'requestBody'])
// V8 quotes the input a JSON.parse failed on: `Unexpected token 'h', "{"password": hunter2}" is not valid JSON`
const JSON_QUOTE_END = ' is not valid JSON'
const JSON_QUOTE_START = /^(?:[\w$.]{1,100}: )?Unexpected token '[\s\S]', /

/** Cuts a string to `max` characters, saying how many were dropped. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… [${text.length - max} more characters]`
}

function safeString(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  return undefined
}

function safeInspect(value: unknown): string {
  try {
    return inspect(value, {
      depth: 2,
      breakLength: Infinity,
      maxArrayLength: 20,
      maxStringLength: MAX_MESSAGE,
      getters: false,
    })
  } catch {
    return '[uninspectable value]'
  }
}

function isErrorLike(value: unknown): boolean {
  if (value instanceof Error) return true
  if (value === null || typeof value !== 'object') return false
  return (
    typeof readField(value, 'message') === 'string' && typeof readField(value, 'stack') === 'string'
  )
}

/** Keeps the first line(s) up to the frames at `MAX_MESSAGE`, and at most `MAX_FRAMES` frames. */
function trimStack(stack: string): string {
  const firstFrame = stack.indexOf('\n    at ')
  const head = firstFrame === -1 ? stack : stack.slice(0, firstFrame)
  const frames = firstFrame === -1 ? '' : stack.slice(firstFrame)
  const lines = frames.split('\n', MAX_FRAMES + 2).map((line) => truncate(line, MAX_FRAME_LINE))
  if (lines.length > MAX_FRAMES + 1) lines[MAX_FRAMES + 1] = '    … more frames'
  return hideParserQuote(truncate(head, MAX_MESSAGE)) + lines.join('\n')
}

/** A JSON parser's message without the input it quotes: a body that did not parse may hold a password. */
export function hideParserQuote(message: string): string {
  const end = message.indexOf(JSON_QUOTE_END)
  if (end === -1) return message
  const lineStart = message.lastIndexOf('\n', end) + 1
  const start = JSON_QUOTE_START.exec(message.slice(lineStart, lineStart + 40))
  if (!start) return message
  return `${message.slice(0, lineStart + start[0].length)}[input not shown]${message.slice(end)}`
}

/** The own primitive fields of an error (or a thrown object), a raw request body left out. */
export function collectFields(err: object): SerializedError['fields'] {
  let keys: string[]
  try {
    keys = Object.keys(err)
  } catch {
    return undefined
  }
  const fields: NonNullable<SerializedError['fields']> = {}
  let count = 0
  for (const key of keys) {
    if (SKIPPED_FIELDS.has(key) || count >= MAX_FIELDS) continue
    const value = readField(err, key)
    if (RAW_BODY_FIELDS.has(key) && typeof value === 'string')
      fields[key] = `[request body, ${value.length} characters, not shown]`
    else if (typeof value === 'string') fields[key] = truncate(value, MAX_FIELD_LENGTH)
    else if (typeof value === 'number' || typeof value === 'boolean' || value === null)
      fields[key] = value
    else continue
    count++
  }
  return count > 0 ? fields : undefined
}

function serializeNonError(value: unknown): SerializedError {
  const thrown = value === null ? 'null' : typeof value
  const message = typeof value === 'string' ? value : safeInspect(value)
  const out: SerializedError = { name: 'NonError', thrown, message: truncate(message, MAX_MESSAGE) }
  // a thrown plain object's own fields are scrubbed by name like an error's: `throw { password, apiKey }`
  const fields = value !== null && typeof value === 'object' ? collectFields(value) : undefined
  if (fields) out.fields = fields
  return out
}

interface Walk {
  seen: Set<unknown>
  /** Characters of message and stack the chain may still spend. */
  chars: number
}

function serializeAt(value: unknown, walk: Walk, depth: number): SerializedError {
  const { seen } = walk
  if (!isErrorLike(value)) return serializeNonError(value)
  seen.add(value)
  const err = value as object
  const name = truncate(safeString(readField(err, 'name')) || 'Error', 200)
  const spent = walk.chars <= 0
  const out: SerializedError = {
    name,
    message: hideParserQuote(
      truncate(safeString(readField(err, 'message')) ?? '', spent ? SHORT_MESSAGE : MAX_MESSAGE),
    ),
  }
  const stack = spent ? undefined : safeString(readField(err, 'stack'))
  if (stack) out.stack = trimStack(stack)
  walk.chars -= out.message.length + (out.stack?.length ?? 0)
  const code = readField(err, 'code')
  if (typeof code === 'string' || typeof code === 'number') out.code = truncate(String(code), 200)
  const status = getErrorStatus(err)
  if (status !== undefined) out.status = status
  const fields = collectFields(err)
  if (fields) out.fields = fields
  if (depth < MAX_CAUSE_DEPTH && seen.size < MAX_ERRORS) {
    const cause = readField(err, 'cause')
    if (cause !== undefined && !seen.has(cause)) out.cause = serializeAt(cause, walk, depth + 1)
    const members = readField(err, 'errors')
    if (Array.isArray(members)) {
      out.errors = []
      for (const member of members.slice(0, MAX_MEMBERS)) {
        if (seen.size >= MAX_ERRORS) break
        if (!seen.has(member)) out.errors.push(serializeAt(member, walk, depth + 1))
      }
    }
  }
  return out
}

/**
 * Turns anything that can be thrown into a `SerializedError`: errors with
 * their `cause` chain and AggregateError members, and strings, `null`,
 * circular objects, Proxies and objects with throwing getters, without ever
 * throwing itself.
 *
 * @example
 * ```ts
 * serializeError(new Error('db down', { cause: new Error('ECONNREFUSED') }))
 * // { name: 'Error', message: 'db down', stack: '…', cause: { name: 'Error', … } }
 * serializeError(null) // { name: 'NonError', thrown: 'null', message: 'null' }
 * ```
 */
export function serializeError(value: unknown): SerializedError {
  try {
    return serializeAt(value, { seen: new Set(), chars: MAX_CHAIN_TEXT }, 0)
  } catch {
    return { name: 'NonError', thrown: 'unknown', message: '[a value that could not be read]' }
  }
}

/** One error of a chain, as `errorChain` lists it. */
export interface ChainLink {
  error: SerializedError
  /** 0 for the error itself, 1 for its cause, and so on; a member has the depth of its AggregateError. */
  depth: number
  /** `''`, `'Caused by: '` or `'AggregateError member 2: '`. */
  label: string
}

/**
 * A serialised error, its AggregateError members and its causes, in the
 * order every sink shows them: each error, then its members, then its cause.
 * The one walk mails, tickets, syslog, stderr and the debug page share.
 *
 * @example
 * ```ts
 * errorChain(report.error).map((link) => `${link.label}${link.error.message}`)
 * // ['cannot load cart', 'Caused by: replica down']
 * ```
 */
export function errorChain(error: SerializedError | undefined): ChainLink[] {
  const links: ChainLink[] = []
  let current = error
  for (let depth = 0; current && depth < MAX_SHOWN_DEPTH; depth++) {
    links.push({ error: current, depth, label: depth ? 'Caused by: ' : '' })
    current.errors?.forEach((member, i) =>
      links.push({ error: member, depth, label: `AggregateError member ${i + 1}: ` }),
    )
    current = current.cause
  }
  return links
}

/** An error's stack, or its "Name: message" line when it has none. */
export function stackOf(error: SerializedError): string {
  return error.stack ?? `${error.name}: ${error.message}`
}

/**
 * The whole traceback of a serialised error as text: its stack, then each
 * cause ("Caused by: …") and AggregateError member, as mails, tickets and
 * syslog show it.
 *
 * @example
 * ```ts
 * formatErrorChain(report.error) // 'Error: cannot load cart\n    at …\nCaused by: Error: replica down\n    at …'
 * ```
 */
export function formatErrorChain(error: SerializedError | undefined): string {
  return errorChain(error)
    .map((link) => `${link.label}${stackOf(link.error)}`)
    .join('\n')
}
