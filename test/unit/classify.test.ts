import { expect } from 'chai'
import { classifyOutcome, type OutcomeFacts } from '../../lib/report/classify.js'

const healthy: OutcomeFacts = {
  status: 200,
  finished: true,
  loggedError: false,
  loggedWarning: false,
  suspicious: false,
}
const thrown = (status?: number, clientAbort = false) => ({
  exception: { clientAbort, ...(status === undefined ? {} : { status }) },
})

describe('classifyOutcome', () => {
  const cases: Array<[string, Partial<OutcomeFacts>, ReturnType<typeof classifyOutcome>]> = [
    ['a finished 2xx', {}, undefined],
    ['a redirect', { status: 302 }, undefined],
    ['a 404 with nothing thrown', { status: 404 }, 'warning'],
    ['a hand-written warning on a 200', { loggedWarning: true }, 'warning'],
    ['a suspicious request answered 200', { suspicious: true }, 'warning'],
    ['a hand-written error on a 200', { loggedError: true }, 'error'],
    ['a 500 page the app rendered without throwing', { status: 500 }, 'error'],
    ['a 503 the app answered itself', { status: 503 }, 'error'],
    ['a thrown error without a status', { status: 500, ...thrown() }, 'traceback'],
    ['a thrown error asking for 502', { status: 502, ...thrown(502) }, 'traceback'],
    ['a thrown error asking for 404', { status: 404, ...thrown(404) }, 'warning'],
    ['a thrown 4xx that became a 500 anyway', { status: 500, ...thrown(400) }, 'traceback'],
    [
      'a thrown 4xx on an unfinished response',
      { status: 500, finished: false, ...thrown(400) },
      'warning',
    ],
    ['a client that hung up mid-body', { status: 500, ...thrown(400, true) }, 'aborted'],
    ['a client abort whatever the status', { status: 500, ...thrown(undefined, true) }, 'aborted'],
    ['a response that never finished', { finished: false }, 'aborted'],
    [
      'an unfinished response with a hand-written error',
      { finished: false, loggedError: true },
      'error',
    ],
    ['an unfinished 500', { finished: false, status: 500 }, 'error'],
    ['a 4xx with a hand-written error', { status: 422, loggedError: true }, 'error'],
  ]
  for (const [what, facts, expected] of cases)
    it(`should classify ${what} as ${String(expected ?? 'nothing')}`, () => {
      expect(classifyOutcome({ ...healthy, ...facts })).to.equal(expected)
    })
})
