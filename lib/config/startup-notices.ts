// The notices an instance gives as it starts: the start-up line, and the banner when debug mode is
// on in production.
import { noticeOf, type Notice, type NoticeChannel } from '../notices.js'

/** Says, loudly, that debug mode is on while NODE_ENV=production. */
export function warnDebugInProduction(say: NoticeChannel): void {
  const bar = '!'.repeat(78)
  const notice = noticeOf(
    'FAULTLINE_DEBUG_IN_PRODUCTION',
    'DEBUG MODE IS ON WHILE NODE_ENV=production. ' +
      'Error pages will show stack traces, source code and request data to anyone who triggers an error. ' +
      'Turn it off: remove `debug: true` (or FAULTLINE_DEBUG) from this deployment.',
  )
  // a banner on stderr, so nobody scrolls past it; one line everywhere else
  say({
    ...notice,
    text:
      `${bar}\nfaultline: DEBUG MODE IS ON WHILE NODE_ENV=production.\n` +
      'Error pages will show stack traces, source code and request data to anyone who triggers an error.\n' +
      'Turn it off: remove `debug: true` (or FAULTLINE_DEBUG) from this deployment.\n' +
      bar,
  })
}

/** The start-up line as a notice: already escaped, one line. */
export function announcement(line: string): Notice {
  const text = line.replace(/\n$/, '')
  return { code: 'FAULTLINE_STARTED', message: text.replace(/^faultline: /, ''), text }
}
