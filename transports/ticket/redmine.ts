import type { NewTicket, TicketAdapter, TicketRef } from './adapter.js'
import { TicketError } from './adapter.js'
import { toRedmineText } from './format.js'
import { readBounded } from './read-body.js'

/**
 * Settings of the Redmine adapter.
 *
 * @example
 * ```ts
 * // the adapter built by hand reaches what the tickets URL cannot: the per-call timeout
 * const options: RedmineOptions = { baseUrl: 'https://tracker.example.org', project: 'shop',
 *   apiKey: process.env.REDMINE_API_KEY ?? '', timeoutMs: 5000 }
 * createFaultline({ tickets: { adapter: new RedmineAdapter(options) } })
 * ```
 */
export interface RedmineOptions {
  /** The Redmine base URL, `https://tracker.example.org`. */
  baseUrl: string
  apiKey: string
  /** The project's identifier (or numeric id). */
  project: string
  /** The id of an issue custom field that holds the fingerprint; without it, the fingerprint goes in the subject. */
  fingerprintField?: number
  trackerId?: number
  /** The status a reopened issue gets; by default the first status that is not closed. */
  reopenStatusId?: number
  /** Per-call timeout. Default 10 s. */
  timeoutMs?: number
}

interface RedmineIssue {
  id: number
  subject: string
  status: { id: number; name: string; is_closed?: boolean }
  custom_fields?: Array<{ id: number; value?: unknown }>
}

const MARKER = (fingerprint: string) => `[fp:${fingerprint}]`
// enough to get past issues that only quote the marker (a message can say anything) to the one that carries it
const SEARCH_LIMIT = '100'
// a search answers at most SEARCH_LIMIT issues with their descriptions; anything past this is not a Redmine answering
const MAX_ANSWER_BYTES = 8 * 1024 * 1024
// an error's body only feeds a message of a few hundred characters
const MAX_ERROR_BYTES = 16 * 1024

/** A title that cannot pass for another issue's marker: `[fp:` in a message becomes `[fp-`. */
export function neutralizeMarker(title: string): string {
  return title.replace(/\[\s*fp\s*:/gi, '[fp-')
}

/** Whether an issue is the fingerprint's own, not one whose subject merely quotes its marker. */
function carries(issue: RedmineIssue, fingerprint: string, field: number | undefined): boolean {
  if (!issue || typeof issue.id !== 'number') return false
  if (field)
    return issue.custom_fields?.some((f) => f.id === field && f.value === fingerprint) === true
  const marker = MARKER(fingerprint)
  // faultline writes the marker first: a subject that only contains it somewhere is someone else's
  return (
    typeof issue.subject === 'string' &&
    (issue.subject === marker || issue.subject.startsWith(`${marker} `))
  )
}

/**
 * Files tickets in Redmine through its REST API: the fingerprint in a custom
 * field when one is configured, otherwise as a `[fp:…]` marker in the
 * subject, so every app instance finds the same issue. Answers that retrying
 * will not change (401, 403, 404, 422) become errors that say what to fix.
 *
 * @example
 * ```ts
 * new RedmineAdapter({ baseUrl: 'https://tracker.example.org', apiKey: process.env.REDMINE_KEY!, project: 'shop', fingerprintField: 3 })
 * ```
 */
export class RedmineAdapter implements TicketAdapter {
  readonly name = 'redmine'
  #closedStatuses: Promise<Set<number>> | undefined
  #reopenStatus: number | undefined

  constructor(private readonly options: RedmineOptions) {}

  async #call(method: string, path: string, body?: unknown): Promise<unknown> {
    const { baseUrl, apiKey, timeoutMs = 10_000 } = this.options
    let response: Response
    try {
      response = await fetch(`${baseUrl.replace(/\/$/, '')}${path}`, {
        method,
        headers: {
          'X-Redmine-API-Key': apiKey,
          'Content-Type': 'application/json',
          Accept: 'application/json',
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      })
    } catch (err) {
      throw new TicketError(
        `Redmine at ${baseUrl} cannot be reached (${(err as Error).cause ? String((err as Error & { cause: Error }).cause.message ?? (err as Error).cause) : (err as Error).message})`,
        { cause: err },
      )
    }
    if (response.ok) return this.#readJson(response, method, path)
    throw await this.#explain(response, method, path)
  }

  /** The answer's JSON, read within the byte bound and the call's timeout; an empty body is `undefined`. */
  async #readJson(response: Response, method: string, path: string): Promise<unknown> {
    if (response.status === 204) return undefined
    const where = `Redmine's answer to ${method} ${path.split('?')[0]}`
    let body: Awaited<ReturnType<typeof readBounded>>
    try {
      body = await readBounded(response, MAX_ANSWER_BYTES)
    } catch (err) {
      throw new TicketError(
        `${where} did not arrive whole within ${this.options.timeoutMs ?? 10_000} ms (${(err as Error).message})`,
        { cause: err },
      )
    }
    if (!body.complete)
      throw new TicketError(`${where} is larger than ${MAX_ANSWER_BYTES} bytes: not read further`)
    if (!body.text.trim()) return undefined
    try {
      return JSON.parse(body.text) as unknown
    } catch {
      // never taken for "no such issue": that would file a duplicate ticket
      throw new TicketError(`${where} is not JSON: ${JSON.stringify(body.text.slice(0, 80))}`)
    }
  }

  async #explain(response: Response, method: string, path: string): Promise<TicketError> {
    const { text } = await readBounded(response, MAX_ERROR_BYTES).catch(() => ({ text: '' }))
    const status = response.status
    const { project } = this.options
    if (status === 401)
      return new TicketError(
        `Redmine refused the API key (401 Unauthorized): check the key in the tickets setting (redmine+https://KEY@host/projects/${project}); it is on the user's "My account" page, and the REST API must be on (Administration → Settings → API)`,
        { permanent: true, status },
      )
    if (status === 403)
      return new TicketError(
        `Redmine forbids this (403 Forbidden on ${method} ${path}): give the API key's user a role in project "${project}" that may add, edit and view issues`,
        { permanent: true, status },
      )
    if (status === 404 && (path.startsWith('/projects') || path.includes('project_id')))
      return new TicketError(
        `Redmine has no project "${project}" (404): check the project identifier in the tickets setting`,
        { permanent: true, status },
      )
    // an issue deleted meanwhile: the work is tried again, and its next find() files a new ticket
    if (status === 404)
      return new TicketError(`Redmine has no ${path} (404): it was deleted meanwhile`, { status })
    if (status === 422) {
      let errors = text
      try {
        errors = ((JSON.parse(text) as { errors?: string[] }).errors ?? []).join('; ')
      } catch {
        // not JSON: keep the text
      }
      return new TicketError(
        `Redmine rejected the issue (422: ${errors}): check that the tracker and the fingerprint custom field are enabled for project "${project}"`,
        { permanent: true, status },
      )
    }
    return new TicketError(
      `Redmine answered ${status} to ${method} ${path}${text ? `: ${text.slice(0, 200)}` : ''}`,
      { status },
    )
  }

  #closedStatusIds(): Promise<Set<number>> {
    this.#closedStatuses ??= (async () => {
      const body = (await this.#call('GET', '/issue_statuses.json')) as {
        issue_statuses: Array<{ id: number; is_closed: boolean }>
      }
      this.#reopenStatus =
        this.options.reopenStatusId ?? body.issue_statuses.find((s) => !s.is_closed)?.id
      return new Set(body.issue_statuses.filter((s) => s.is_closed).map((s) => s.id))
    })().catch((err: unknown) => {
      this.#closedStatuses = undefined
      throw err
    })
    return this.#closedStatuses
  }

  async #ref(issue: RedmineIssue): Promise<TicketRef> {
    const closed = issue.status.is_closed ?? (await this.#closedStatusIds()).has(issue.status.id)
    return {
      id: String(issue.id),
      closed,
      url: `${this.options.baseUrl.replace(/\/$/, '')}/issues/${issue.id}`,
    }
  }

  /**
   * The oldest issue that carries the fingerprint. Redmine's search only
   * narrows the candidates (a subject search is "contains"); each is then
   * checked exactly, so an issue whose title quotes `[fp:…]` of another error
   * never takes that error's occurrences.
   */
  async find(fingerprint: string): Promise<TicketRef | undefined> {
    const field = this.options.fingerprintField
    const query = new URLSearchParams({
      project_id: this.options.project,
      status_id: '*',
      sort: 'id',
      limit: SEARCH_LIMIT,
    })
    if (field) query.set(`cf_${field}`, fingerprint)
    else query.set('subject', `~${MARKER(fingerprint)}`)
    const body = (await this.#call('GET', `/issues.json?${query}`)) as
      { issues?: RedmineIssue[] } | undefined
    const issues = Array.isArray(body?.issues)
      ? body.issues.filter((issue) => carries(issue, fingerprint, field))
      : []
    const oldest = issues.sort((a, b) => a.id - b.id)[0]
    return oldest && this.#ref(oldest)
  }

  async create(ticket: NewTicket): Promise<TicketRef> {
    const { fingerprintField, trackerId, project } = this.options
    const title = neutralizeMarker(ticket.title)
    const subject = fingerprintField
      ? title.slice(0, 255)
      : `${MARKER(ticket.fingerprint)} ${title}`.slice(0, 255)
    const issue: Record<string, unknown> = {
      project_id: project,
      subject,
      description: toRedmineText(ticket.body),
    }
    if (trackerId) issue.tracker_id = trackerId
    if (fingerprintField)
      issue.custom_fields = [{ id: fingerprintField, value: ticket.fingerprint }]
    const body = (await this.#call('POST', '/issues.json', { issue })) as { issue: RedmineIssue }
    return this.#ref(body.issue)
  }

  async comment(ref: TicketRef, text: string): Promise<void> {
    await this.#call('PUT', `/issues/${ref.id}.json`, { issue: { notes: toRedmineText(text) } })
  }

  async reopen(ref: TicketRef, text: string): Promise<void> {
    await this.#closedStatusIds()
    if (this.#reopenStatus === undefined)
      throw new TicketError(
        'Redmine has no open issue status to reopen with: set tickets.redmine.reopenStatusId',
        {
          permanent: true,
        },
      )
    await this.#call('PUT', `/issues/${ref.id}.json`, {
      issue: { status_id: this.#reopenStatus, notes: toRedmineText(text) },
    })
  }

  /** Deletes a duplicate; one that is gone already (a retried removal) is done. */
  async remove(ref: TicketRef): Promise<void> {
    try {
      await this.#call('DELETE', `/issues/${ref.id}.json`)
    } catch (err) {
      if ((err as TicketError).status !== 404) throw err
    }
  }
}
