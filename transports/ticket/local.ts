import {
  closeSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs'
import { join, resolve } from 'node:path'
import type { NewTicket, TicketAdapter, TicketRef } from './adapter.js'
import { toMarkdownBlock, toMarkdownInline } from './format.js'

/**
 * One ticket of the local tracker, as stored in `<fingerprint>.json`.
 *
 * @example
 * ```ts
 * const tracker = new LocalTicketAdapter('var/tickets')
 * createFaultline({ tickets: { adapter: tracker } })
 * const ticket: LocalTicket | undefined = tracker.read(report.fingerprint)
 * console.log(ticket?.status, ticket?.comments.length) // at most one comment per window
 * ```
 */
export interface LocalTicket {
  id: string
  fingerprint: string
  title: string
  status: 'open' | 'closed'
  created: string
  updated: string
  body: string
  comments: Array<{ time: string; text: string }>
}

const LOCK_WAIT_MS = 10_000
const STALE_LOCK_MS = 30_000

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

// title, body and comments quote what clients sent: escaped, and fenced, so none of it renders as Markdown or HTML
function renderMarkdown(ticket: LocalTicket): string {
  const comments = ticket.comments
    .map((c) => `### ${c.time}\n\n${toMarkdownBlock(c.text)}\n`)
    .join('\n')
  return `# ${toMarkdownInline(ticket.title)}\n\n- Status: **${ticket.status}**\n- Fingerprint: \`${ticket.fingerprint}\`\n- Created: ${ticket.created}\n- Updated: ${ticket.updated}\n\n${toMarkdownBlock(ticket.body)}\n${comments ? `\n## Comments\n\n${comments}` : ''}`
}

/**
 * The embedded tracker: a directory with one JSON file per ticket (named by
 * the fingerprint) and a readable Markdown rendering beside it. Every write
 * is atomic (a temporary file renamed into place), a new ticket is claimed
 * with a hard link that only one process can win, and updates take a lock
 * file, so several processes on one machine never lose or double a ticket.
 * Close a ticket by setting `"status": "closed"` in its JSON file.
 *
 * @example
 * ```ts
 * createFaultline({ tickets: 'local:var/tickets' })
 * ```
 */
export class LocalTicketAdapter implements TicketAdapter {
  readonly name = 'local'
  readonly dir: string

  constructor(dir: string) {
    this.dir = resolve(dir)
    // tickets hold request data: readable by the app's user only, whatever the umask
    mkdirSync(this.dir, { recursive: true, mode: 0o700 })
  }

  #path(fingerprint: string, ext: string): string {
    if (!/^[0-9a-f]{1,64}$/.test(fingerprint))
      throw new Error(`not a fingerprint: ${JSON.stringify(fingerprint)}`)
    return join(this.dir, `${fingerprint}.${ext}`)
  }

  /** Reads one ticket, or undefined when there is none. */
  read(fingerprint: string): LocalTicket | undefined {
    try {
      return JSON.parse(readFileSync(this.#path(fingerprint, 'json'), 'utf8')) as LocalTicket
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw err
    }
  }

  #ref(ticket: LocalTicket): TicketRef {
    return {
      id: ticket.id,
      closed: ticket.status === 'closed',
      url: `file://${this.#path(ticket.fingerprint, 'md')}`,
    }
  }

  #writeAtomically(path: string, content: string): void {
    const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
    writeFileSync(tmp, content, { mode: 0o600 })
    renameSync(tmp, path)
  }

  #save(ticket: LocalTicket): void {
    this.#writeAtomically(
      this.#path(ticket.fingerprint, 'json'),
      `${JSON.stringify(ticket, null, 2)}\n`,
    )
    this.#writeAtomically(this.#path(ticket.fingerprint, 'md'), renderMarkdown(ticket))
  }

  async find(fingerprint: string): Promise<TicketRef | undefined> {
    const ticket = this.read(fingerprint)
    return ticket && this.#ref(ticket)
  }

  async create(ticket: NewTicket): Promise<TicketRef> {
    const now = new Date().toISOString()
    const stored: LocalTicket = {
      id: ticket.fingerprint,
      fingerprint: ticket.fingerprint,
      title: ticket.title,
      status: 'open',
      created: now,
      updated: now,
      body: ticket.body,
      comments: [],
    }
    const path = this.#path(ticket.fingerprint, 'json')
    const tmp = `${path}.${process.pid}.new.tmp`
    writeFileSync(tmp, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 })
    try {
      // link() fails if the ticket exists: exactly one process files it, and readers never see half a file
      linkSync(tmp, path)
      this.#writeAtomically(this.#path(ticket.fingerprint, 'md'), renderMarkdown(stored))
      return this.#ref(stored)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      return { ...this.#ref(this.read(ticket.fingerprint)!), existed: true }
    } finally {
      unlinkSync(tmp)
    }
  }

  async comment(ref: TicketRef, text: string): Promise<void> {
    await this.#update(ref.id, (ticket) =>
      ticket.comments.push({ time: new Date().toISOString(), text }),
    )
  }

  async reopen(ref: TicketRef, text: string): Promise<void> {
    await this.#update(ref.id, (ticket) => {
      ticket.status = 'open'
      ticket.comments.push({ time: new Date().toISOString(), text })
    })
  }

  async close(ref: TicketRef, text: string): Promise<void> {
    await this.#update(ref.id, (ticket) => {
      ticket.status = 'closed'
      ticket.comments.push({ time: new Date().toISOString(), text })
    })
  }

  async #update(fingerprint: string, change: (ticket: LocalTicket) => void): Promise<void> {
    const lock = this.#path(fingerprint, 'lock')
    const deadline = Date.now() + LOCK_WAIT_MS
    for (;;) {
      try {
        closeSync(openSync(lock, 'wx', 0o600))
        break
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
        // a process that died holding the lock must not block the tracker forever
        try {
          if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) unlinkSync(lock)
        } catch {
          // gone already: try again
        }
        if (Date.now() > deadline)
          throw new Error(
            `the local ticket ${fingerprint} stayed locked for ${LOCK_WAIT_MS} ms (${lock})`,
            { cause: err },
          )
        await sleep(5 + Math.random() * 20)
      }
    }
    try {
      const ticket = this.read(fingerprint)
      if (!ticket) throw new Error(`the local ticket ${fingerprint} is gone`)
      change(ticket)
      ticket.updated = new Date().toISOString()
      this.#save(ticket)
    } finally {
      unlinkSync(lock)
    }
  }
}
