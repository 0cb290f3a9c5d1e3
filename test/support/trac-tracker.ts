import { startTrac, type Trac } from './trac.js'
import type { TrackerUnderTest } from './trackers.js'

/** Text as a reader of the ticket sees it: faultline wraps it in one {{{ }}} block, with zero-width spaces that keep markup inert. */
export function readableTrac(text: string): string {
  return text
    .replace(/\r\n/g, '\n')
    .replace(/^\{\{\{\n?/, '')
    .replace(/\n?\}\}\}$/, '')
    .replace(/\u200b/g, '')
}

/** The tickets setting pointing at a Trac as its bot user. */
export function tracSetting(trac: Trac, password = trac.password): { url: string } {
  return {
    url: `trac+${trac.url.replace('://', `://${trac.user}:${encodeURIComponent(password)}@`)}`,
  }
}

/** A real Trac, started for the test file (one tracd per file). */
export async function tracTracker(): Promise<TrackerUnderTest & { trac: Trac }> {
  const trac = await startTrac()
  return {
    name: 'trac',
    // five JSON-RPC calls find and file a ticket: on two busy cores that can take most of a second
    windowMs: 1500,
    trac,
    setting: () => tracSetting(trac),
    tickets: async () => {
      const ids = (await trac.rpc('ticket.query', ['max=0&order=id'])) as number[]
      return Promise.all(
        ids.map(async (id) => {
          // comments first: a comment and the status change it came with commit together, so a
          // status read after the comments can't be older than them (read the other way, a reopen
          // landing between the two reads looks like a comment on a closed ticket)
          const comments = (await trac.comments(id)).map(readableTrac)
          const t = await trac.ticket(id)
          return {
            id: String(id),
            title: t.summary,
            body: readableTrac(t.description),
            closed: t.status === 'closed',
            comments,
          }
        }),
      )
    },
    closeTicket: (id) => trac.closeTicket(Number(id)),
    reset: () => trac.deleteAll(),
    dispose: () => trac.close(),
  }
}
