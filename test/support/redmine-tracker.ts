import { startRedmine, type Redmine } from './redmine.js'
import type { TrackerUnderTest } from './trackers.js'

/** Text as a reader of the issue sees it: faultline wraps it in one <pre> block, with zero-width spaces that keep markup inert. */
function readable(text: string): string {
  return text
    .replace(/\r\n/g, '\n')
    .replace(/^<pre>\n?/, '')
    .replace(/\n?<\/pre>$/, '')
    .replace(/\u200b/g, '')
}

/** A real Redmine, started for the test file, with the fingerprint in its custom field. */
export async function redmineTracker(): Promise<TrackerUnderTest & { redmine: Redmine }> {
  const redmine = await startRedmine()
  const { url, apiKey, projectIdentifier, fingerprintFieldId } = redmine
  const setting = {
    url: `redmine+${url.replace('://', `://${apiKey}@`)}/projects/${projectIdentifier}`,
    redmine: { fingerprintField: fingerprintFieldId },
  }
  return {
    name: 'redmine',
    redmine,
    setting: () => setting,
    tickets: async () => {
      const issues = await redmine.listIssues()
      return Promise.all(
        issues.map(async (issue) => {
          // comments first, the status from a second read: Redmine loads an issue's row before its
          // journals, so in one read a reopen landing between the two looks like a comment on a
          // closed issue (the race the Trac view had)
          const { journals } = await redmine.getIssue(issue.id)
          const full = await redmine.getIssue(issue.id)
          return {
            id: String(issue.id),
            title: full.subject,
            body: readable(full.description),
            closed: full.status.id === redmine.closedStatusId,
            comments: journals
              .map((j) => j.notes)
              .filter((n) => n)
              .map(readable),
          }
        }),
      )
    },
    closeTicket: (id) => redmine.closeIssue(Number(id)),
    reset: () => redmine.deleteAllIssues(),
    dispose: () => redmine.close(),
  }
}
