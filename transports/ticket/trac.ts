import { createHash } from 'node:crypto'
import type { NewTicket, TicketAdapter, TicketRef } from './adapter.js'
import { TicketError } from './adapter.js'
import { toTracText } from './format.js'
import { callTrac, isStale, type TracEndpoint } from './trac-rpc.js'

/**
 * Trac's own part of the `tickets` option: the fields new tickets get and the
 * per-call timeout. Each field value must be one the Trac knows; that is
 * checked once, before the first ticket.
 *
 * @example
 * ```ts
 * createFaultline({ tickets: { url: 'trac+https://faultline:PASSWORD@trac.example.org/shop',
 *   trac: { type: 'defect', component: 'checkout', fields: { severity: 'high' } } } })
 * ```
 */
export interface TracFields {
  type?: string
  component?: string
  priority?: string
  milestone?: string
  /** Keywords added beside the fingerprint's. */
  keywords?: string
  /** Other fields, custom fields included. */
  fields?: Record<string, string>
  /** Per-call timeout in milliseconds. Default 10 s. */
  timeoutMs?: number
}

/**
 * Settings of the Trac adapter.
 *
 * @example
 * ```ts
 * const options: TracOptions = { url: 'https://trac.example.org/shop', user: 'faultline',
 *   password: process.env.TRAC_PASSWORD ?? '', type: 'defect', component: 'checkout' }
 * createFaultline({ tickets: { adapter: new TracAdapter(options) } })
 * ```
 */
export interface TracOptions extends TracFields {
  /** The Trac environment's root, `https://trac.example.org/shop`. */
  url: string
  user: string
  password: string
}

interface TracTicket {
  id: number
  status: string
  keywords: string
  _ts: string
}

// a fingerprint carried as one keyword: Trac splits keywords at spaces and commas
const KEYWORD_SAFE = /^[A-Za-z0-9._-]{1,100}$/
// enough to get past tickets whose keywords only contain the fingerprint's as a substring
const SEARCH_LIMIT = 100
const STALE_RETRIES = 6

/** The keyword that marks a fingerprint's ticket. */
export function fingerprintKeyword(fingerprint: string): string {
  const safe = KEYWORD_SAFE.test(fingerprint)
    ? fingerprint
    : `h${createHash('sha256').update(fingerprint).digest('hex').slice(0, 32)}`
  return `faultline-fp-${safe}`
}

function keywordsOf(ticket: TracTicket): string[] {
  return typeof ticket.keywords === 'string' ? ticket.keywords.split(/[\s,]+/) : []
}

function ticketOf(answer: unknown): TracTicket | undefined {
  if (!Array.isArray(answer) || typeof answer[0] !== 'number') return undefined
  const attrs = answer[3] as Record<string, unknown> | undefined
  if (!attrs || typeof attrs !== 'object') return undefined
  return {
    id: answer[0],
    status: String(attrs.status ?? ''),
    keywords: String(attrs.keywords ?? ''),
    _ts: String(attrs._ts ?? ''),
  }
}

/**
 * Files tickets in Trac through the TracXMLRPC plugin's JSON-RPC API at
 * `<root>/login/rpc`, as a user with a password (HTTP Basic). The fingerprint
 * is a keyword, `faultline-fp-<fingerprint>`; Trac's keyword search is a
 * substring match, so each answer is checked for the exact keyword. Text goes
 * in a code block Trac's WikiFormatting leaves alone (`toTracText`).
 *
 * @example
 * ```ts
 * new TracAdapter({ url: 'https://trac.example.org/shop', user: 'faultline', password: process.env.TRAC_PASSWORD! })
 * ```
 */
export class TracAdapter implements TicketAdapter {
  readonly name = 'trac'
  readonly #endpoint: TracEndpoint
  readonly #options: TracOptions
  #checked: Promise<void> | undefined

  constructor(options: TracOptions) {
    this.#options = options
    this.#endpoint = {
      root: options.url.replace(/\/+$/, ''),
      user: options.user,
      password: options.password,
      timeoutMs: options.timeoutMs ?? 10_000,
    }
  }

  /** The environment's root, for people: never the password. */
  get url(): string {
    return this.#endpoint.root
  }

  #call(method: string, params: unknown[]): Promise<unknown> {
    return callTrac(this.#endpoint, method, params)
  }

  #ref(ticket: TracTicket): TicketRef {
    return {
      id: String(ticket.id),
      closed: ticket.status === 'closed',
      url: `${this.#endpoint.root}/ticket/${ticket.id}`,
    }
  }

  async #get(id: string): Promise<TracTicket> {
    const ticket = ticketOf(await this.#call('ticket.get', [Number(id)]))
    if (!ticket) throw new TicketError(`Trac answered ticket.get ${id} with no ticket`)
    return ticket
  }

  /** The oldest ticket whose keywords hold the fingerprint's keyword exactly, open or closed. */
  async find(fingerprint: string): Promise<TicketRef | undefined> {
    const keyword = fingerprintKeyword(fingerprint)
    const ids = await this.#call('ticket.query', [
      `keywords~=${keyword}&order=id&max=${SEARCH_LIMIT}`,
    ])
    if (!Array.isArray(ids) || ids.length === 0) return undefined
    const calls = ids
      .filter((id): id is number => typeof id === 'number')
      .map((id) => ({ method: 'ticket.get', params: [id], id: String(id) }))
    const answers = (await this.#call('system.multicall', calls)) as Array<{ result?: unknown }>
    const carrying = (Array.isArray(answers) ? answers : [])
      .map((a) => ticketOf(a?.result))
      .filter((t): t is TracTicket => t !== undefined && keywordsOf(t).includes(keyword))
      .sort((a, b) => a.id - b.id)
    return carrying[0] && this.#ref(carrying[0])
  }

  async create(ticket: NewTicket): Promise<TicketRef> {
    await this.#checkFields()
    const { type, component, priority, milestone, keywords, fields } = this.#options
    const attributes: Record<string, string> = {
      ...fields,
      ...(type ? { type } : {}),
      ...(component ? { component } : {}),
      ...(priority ? { priority } : {}),
      ...(milestone ? { milestone } : {}),
      keywords: [fingerprintKeyword(ticket.fingerprint), 'faultline', keywords ?? '']
        .join(' ')
        .trim(),
    }
    const id = await this.#call('ticket.create', [
      ticket.title,
      toTracText(ticket.body),
      attributes,
      false,
    ])
    if (typeof id !== 'number') throw new TicketError('Trac answered ticket.create with no id')
    return {
      id: String(id),
      closed: false,
      url: `${this.#endpoint.root}/ticket/${id}`,
    }
  }

  async comment(ref: TicketRef, text: string): Promise<void> {
    await this.#update(ref, text, () => ({ action: 'leave' }))
  }

  /** Reopens a closed ticket; one another process reopened already just gets the note. */
  async reopen(ref: TicketRef, text: string): Promise<void> {
    await this.#update(ref, text, (t) => ({ action: t.status === 'closed' ? 'reopen' : 'leave' }))
  }

  /** Deletes a duplicate; without TICKET_ADMIN, closes it as one and takes the fingerprint off it. */
  async remove(ref: TicketRef): Promise<void> {
    try {
      await this.#call('ticket.delete', [Number(ref.id)])
    } catch (err) {
      const status = (err as TicketError).status
      if (status === 404) return
      if (status !== 403) throw err
      await this.#update(ref, 'Duplicate, filed at the same moment by another instance.', (t) => ({
        action: 'resolve',
        action_resolve_resolve_resolution: 'duplicate',
        keywords: t.keywords.replace(/\bfaultline-fp-\S+/g, '').trim(),
      }))
    }
  }

  /** One change with the ticket's current `_ts`, read again when someone changed it meanwhile. */
  async #update(
    ref: TicketRef,
    text: string,
    change: (ticket: TracTicket) => Record<string, string>,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.#get(ref.id)
      try {
        await this.#call('ticket.update', [
          current.id,
          toTracText(text),
          { ...change(current), _ts: current._ts },
          false,
        ])
        return
      } catch (err) {
        if (!isStale(err) || attempt >= STALE_RETRIES) throw err
        // the others changing it now are spread apart, so the next read is likely the last
        await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80 * attempt))
      }
    }
  }

  /** Checks once that the fields new tickets get are ones this Trac knows: a typo is said, not retried. */
  #checkFields(): Promise<void> {
    this.#checked ??= this.#readFields().catch((err: unknown) => {
      this.#checked = undefined
      throw err
    })
    return this.#checked
  }

  async #readFields(): Promise<void> {
    const { type, component, priority, milestone, fields } = this.#options
    const wanted: Record<string, string> = {
      ...fields,
      ...(type ? { type } : {}),
      ...(component ? { component } : {}),
      ...(priority ? { priority } : {}),
      ...(milestone ? { milestone } : {}),
    }
    if (Object.keys(wanted).length === 0) return
    const known = (await this.#call('ticket.getTicketFields', [])) as Array<{
      name?: unknown
      type?: unknown
      options?: unknown
    }>
    for (const [name, value] of Object.entries(wanted)) {
      const field = Array.isArray(known) ? known.find((f) => f?.name === name) : undefined
      if (!field)
        throw new TicketError(
          `Trac has no ticket field "${name}": check tickets.trac (known: ${(known ?? []).map((f) => String(f?.name)).join(', ')})`,
          { permanent: true },
        )
      const options = Array.isArray(field.options) ? (field.options as unknown[]) : undefined
      if (field.type === 'select' && options && !options.includes(value))
        throw new TicketError(
          `Trac has no ${name} "${value}": check tickets.trac.${name} (known: ${options.join(', ')})`,
          { permanent: true },
        )
    }
  }
}
