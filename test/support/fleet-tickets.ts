import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { LocalTicket } from '../../transports/ticket/local.js'

/** The local tracker's tickets, read from its directory as a user would. */
export function ticketsIn(dir: string): LocalTicket[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as LocalTicket)
}

/** Occurrences a ticket's comments count ("37 more occurrences since …"). */
export function commentedCount(ticket: LocalTicket): number {
  return ticket.comments.reduce(
    (sum, c) => sum + Number(/^(\d+) more occurrence/.exec(c.text)?.[1] ?? 0),
    0,
  )
}
