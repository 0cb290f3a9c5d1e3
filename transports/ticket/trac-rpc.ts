import { TicketError } from './adapter.js'

/** Where and as whom the Trac adapter calls. */
export interface TracEndpoint {
  /** The environment's root, `https://trac.example.org/shop`; the API is `<root>/login/rpc`. */
  root: string
  user: string
  password: string
  timeoutMs: number
}

interface RpcAnswer {
  result?: unknown
  error?: { code?: unknown; message?: unknown; name?: unknown } | null
}

// what Trac says when the `_ts` sent is older than the ticket: read it again and retry
const STALE = /modified since you started editing|updated since last get/i
// refusals of the request itself, which the same request will meet again
const REFUSED =
  /invalid action|must be one of|is too long|is not a valid|not allowed|no such field/i
// a Trac answer is JSON of a ticket or an id list; past this it is not an answer to read
const MAX_ANSWER = 4 * 1024 * 1024

/** Whether a TicketError is Trac saying the ticket changed since it was read. */
export function isStale(err: unknown): boolean {
  return (err as { stale?: unknown })?.stale === true
}

/**
 * One JSON-RPC call to TracXMLRPC's `/login/rpc`, with HTTP Basic auth sent
 * up front (on a 401 tracd leaves the body on the connection unread). Every
 * failure is a `TicketError` that names the user but never the password.
 */
export async function callTrac(
  endpoint: TracEndpoint,
  method: string,
  params: unknown[],
): Promise<unknown> {
  const { root, user, password, timeoutMs } = endpoint
  let response: Response
  try {
    response = await fetch(`${root}/login/rpc`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/json',
        Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
      },
      body: JSON.stringify({ method, params, id: 1 }),
      signal: AbortSignal.timeout(timeoutMs),
    })
  } catch (err) {
    const cause = (err as Error & { cause?: { message?: unknown } }).cause
    const why = typeof cause?.message === 'string' ? cause.message : (err as Error).message
    throw new TicketError(`Trac at ${root} cannot be reached (${why})`, { cause: err })
  }
  if (response.status !== 200) throw refusedHttp(endpoint, response.status)
  const text = await readBounded(response)
  let answer: RpcAnswer
  try {
    answer = JSON.parse(text) as RpcAnswer
  } catch {
    throw new TicketError(
      `Trac at ${root} answered ${method} with something not JSON: is ${root}/login/rpc TracXMLRPC?`,
    )
  }
  if (answer && typeof answer === 'object' && answer.error)
    throw refusedRpc(endpoint, method, answer.error)
  return answer?.result
}

async function readBounded(response: Response): Promise<string> {
  const length = Number(response.headers.get('content-length'))
  if (length > MAX_ANSWER) {
    await response.body?.cancel().catch(() => undefined)
    throw new TicketError(`Trac's answer of ${length} bytes is past ${MAX_ANSWER}`)
  }
  const text = await response.text().catch(() => '')
  if (text.length > MAX_ANSWER) throw new TicketError(`Trac's answer is past ${MAX_ANSWER} bytes`)
  return text
}

function refusedHttp({ root, user }: TracEndpoint, status: number): TicketError {
  if (status === 401)
    return new TicketError(
      `Trac refused the password of user "${user}" (401 Unauthorized): check the user and password in the tickets setting (trac+https://USER:PASSWORD@host/path)`,
      { permanent: true, status },
    )
  if (status === 403)
    return new TicketError(
      `Trac forbids ${root}/login/rpc to user "${user}" (403 Forbidden): grant XML_RPC (trac-admin ENV permission add ${user} XML_RPC TICKET_CREATE TICKET_MODIFY TICKET_VIEW)`,
      { permanent: true, status },
    )
  if (status === 404)
    return new TicketError(
      `Trac has no ${root}/login/rpc (404): check that the URL is the environment's root and that the TracXMLRPC plugin is enabled ([components] tracrpc.* = enabled)`,
      { permanent: true, status },
    )
  if (status === 415 || status === 400)
    return new TicketError(`Trac refused the JSON-RPC request (${status}): is this TracXMLRPC?`, {
      permanent: true,
      status,
    })
  return new TicketError(`Trac at ${root} answered ${status}`, { status })
}

function refusedRpc(
  { user }: TracEndpoint,
  method: string,
  error: NonNullable<RpcAnswer['error']>,
): TicketError {
  const code = typeof error.code === 'number' ? error.code : undefined
  const message = (typeof error.message === 'string' ? error.message : '').slice(0, 300)
  if (code === 403)
    return new TicketError(
      `Trac forbids ${method} to user "${user}" (${message}): grant it TICKET_CREATE, TICKET_MODIFY and TICKET_VIEW`,
      { permanent: true, status: 403 },
    )
  // a ticket deleted meanwhile: the work is tried again, and its next find() files a new one
  if (code === 404) return new TicketError(`Trac: ${message}`, { status: 404 })
  if (code === -32601)
    return new TicketError(
      `Trac has no method ${method} (${message}): the TracXMLRPC plugin is too old or not enabled`,
      { permanent: true },
    )
  if (STALE.test(message))
    return Object.assign(new TicketError(`Trac: ${message}`), { stale: true })
  if (REFUSED.test(message))
    return new TicketError(`Trac refused ${method}: ${message}`, { permanent: true })
  return new TicketError(`Trac answered ${method} with an error (${code ?? '?'}): ${message}`)
}
