import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { LocalTicket } from '../../transports/ticket/local.js'

/** A ticket as the behaviour tests look at it, whatever the tracker. */
export interface SeenTicket {
  id: string
  title: string
  body: string
  closed: boolean
  comments: string[]
}

/** A tracker the ticket behaviour tests run against. */
export interface TrackerUnderTest {
  name: string
  /** A batching window longer than the tracker takes to find and file a ticket (default 300 ms). */
  windowMs?: number
  /** The `tickets` setting that points faultline at it. */
  setting(): string | Record<string, unknown>
  tickets(): Promise<SeenTicket[]>
  closeTicket(id: string): Promise<void>
  reset(): Promise<void>
  dispose(): Promise<void>
}

/** The embedded tracker, in a temporary directory. */
export function localTracker(): TrackerUnderTest {
  let dir = mkdtempSync(join(tmpdir(), 'faultline-tickets-'))
  const read = (): LocalTicket[] =>
    readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as LocalTicket)
  return {
    name: 'local',
    setting: () => `local:${dir}`,
    tickets: async () =>
      read().map((t) => ({
        id: t.id,
        title: t.title,
        body: t.body,
        closed: t.status === 'closed',
        comments: t.comments.map((c) => c.text),
      })),
    closeTicket: async (id) => {
      const path = join(dir, `${id}.json`)
      const ticket = JSON.parse(readFileSync(path, 'utf8')) as LocalTicket
      // what a person does: edit the status in the file; saved as the tracker saves, renamed into
      // place, so a transport reading it meanwhile never sees half a file
      writeFileSync(`${path}.closing`, JSON.stringify({ ...ticket, status: 'closed' }, null, 2))
      renameSync(`${path}.closing`, path)
    },
    reset: async () => {
      rmSync(dir, { recursive: true, force: true })
      dir = mkdtempSync(join(tmpdir(), 'faultline-tickets-'))
    },
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
  }
}
