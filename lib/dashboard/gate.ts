import type { Request } from 'express'
import { getErrorStatus, readField } from '../report/error-status.js'

/** What `authorize` answered for one request. */
export type Verdict =
  | { allowed: true }
  | { allowed: false; reason: string }
  | { allowed: false; failure: Error; firstOfItsCause: boolean }

const MAX_CAUSES = 50
const MAX_DESCRIBED = 200

/**
 * Asks the app's `authorize`, whatever it does: a truthy answer lets the
 * request in; false, or a thrown 4xx (`throw createError(401)`), refuses it;
 * any other throw or rejection is a failure, the operator's bug, reported in
 * full once per cause (name, message and the line that threw), so a scanner
 * hammering a broken `authorize` makes one traceback, not one per request.
 */
export class AuthorizeGate {
  readonly #authorize: (req: Request) => unknown
  // the causes already reported; past the bound a cause quoting request input cannot mint more tracebacks
  readonly #seen = new Set<string>()

  constructor(authorize: (req: Request) => unknown) {
    this.#authorize = authorize
  }

  /** Never rejects. */
  ask(req: Request): Promise<Verdict> {
    let answer: unknown
    try {
      answer = this.#authorize(req)
    } catch (err) {
      return Promise.resolve(this.#failed(err))
    }
    // a thenable whose `then` throws becomes a rejection here, not a throw
    return Promise.resolve(answer).then(
      (allowed): Verdict =>
        allowed ? { allowed: true } : { allowed: false, reason: 'refused by authorize' },
      (err: unknown) => this.#failed(err),
    )
  }

  #failed(err: unknown): Verdict {
    const status = getErrorStatus(err)
    if (status !== undefined && status < 500)
      return { allowed: false, reason: `refused by authorize (it threw a ${status})` }
    const described = describeThrown(err)
    const cause = `${described}\u0000${throwingLine(err)}`
    const firstOfItsCause = !this.#seen.has(cause) && this.#seen.size < MAX_CAUSES
    if (firstOfItsCause) this.#seen.add(cause)
    const failure = new Error(`the incident view's authorize failed: ${described}`, { cause: err })
    failure.name = 'AuthorizeError'
    return { allowed: false, failure, firstOfItsCause }
  }
}

/** `Name: message` of anything thrown, read by shape, never throwing, one line of at most 200 characters. */
function describeThrown(err: unknown): string {
  let text: string
  const message = readField(err, 'message')
  if (typeof message === 'string') {
    const name = readField(err, 'name')
    text = `${typeof name === 'string' ? name : 'Error'}: ${message}`
  } else {
    try {
      text = err === null || typeof err !== 'object' ? String(err) : 'a non-Error object'
    } catch {
      text = 'a value that cannot be read'
    }
  }
  const line = text.replace(/\s+/g, ' ').trim()
  return line.length > MAX_DESCRIBED ? `${line.slice(0, MAX_DESCRIBED - 1)}…` : line
}

/** The first frame of a thrown error's stack: where the cause is. */
function throwingLine(err: unknown): string {
  const stack = readField(err, 'stack')
  if (typeof stack !== 'string') return ''
  return /^\s+at .*$/m.exec(stack.slice(0, 4096))?.[0]?.trim() ?? ''
}
