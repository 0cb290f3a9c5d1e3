import { expect } from 'chai'
import { getErrorStatus } from '../lib/index.js'
import { classifyOutcome, type OutcomeFacts } from '../lib/report/classify.js'
import { getResponseStatus } from '../lib/report/error-status.js'

const quiet: OutcomeFacts = {
  status: 200,
  finished: true,
  loggedError: false,
  loggedWarning: false,
  suspicious: false,
}

describe('classifyOutcome', () => {
  it('should report nothing for a finished 2xx or 3xx with nothing logged', () => {
    expect(classifyOutcome(quiet)).to.equal(undefined)
    expect(classifyOutcome({ ...quiet, status: 302 })).to.equal(undefined)
  })

  it('should call an exception without a status a traceback', () => {
    expect(classifyOutcome({ ...quiet, status: 500, exception: { clientAbort: false } })).to.equal(
      'traceback',
    )
  })

  it('should call an exception with a 5xx status a traceback', () => {
    expect(
      classifyOutcome({ ...quiet, status: 503, exception: { status: 503, clientAbort: false } }),
    ).to.equal('traceback')
  })

  it('should call an exception with a 4xx status a warning', () => {
    expect(
      classifyOutcome({ ...quiet, status: 404, exception: { status: 404, clientAbort: false } }),
    ).to.equal('warning')
  })

  it('should call a 4xx exception a traceback when the response became a 5xx anyway', () => {
    expect(
      classifyOutcome({ ...quiet, status: 500, exception: { status: 400, clientAbort: false } }),
    ).to.equal('traceback')
  })

  it('should call a traceback a traceback even when the response was cut after headers', () => {
    expect(
      classifyOutcome({
        ...quiet,
        status: 200,
        finished: false,
        exception: { clientAbort: false },
      }),
    ).to.equal('traceback')
  })

  it('should call a client disconnect an aborted request, never an error', () => {
    expect(
      classifyOutcome({ ...quiet, finished: false, exception: { clientAbort: true } }),
    ).to.equal('aborted')
    expect(classifyOutcome({ ...quiet, finished: false })).to.equal('aborted')
  })

  it('should call a hand-written error an error, whatever the status', () => {
    expect(classifyOutcome({ ...quiet, loggedError: true })).to.equal('error')
    expect(classifyOutcome({ ...quiet, status: 500, loggedError: true })).to.equal('error')
  })

  it('should call a 5xx that no exception explains an error', () => {
    expect(classifyOutcome({ ...quiet, status: 500 })).to.equal('error')
    expect(classifyOutcome({ ...quiet, status: 502 })).to.equal('error')
  })

  it('should call a 4xx, a logged warning or a suspicious request a warning', () => {
    expect(classifyOutcome({ ...quiet, status: 404 })).to.equal('warning')
    expect(classifyOutcome({ ...quiet, loggedWarning: true })).to.equal('warning')
    expect(classifyOutcome({ ...quiet, suspicious: true })).to.equal('warning')
  })

  it('should rank a hand-written error over an abort', () => {
    expect(classifyOutcome({ ...quiet, finished: false, loggedError: true })).to.equal('error')
  })
})

describe('getErrorStatus', () => {
  it('should use err.status over err.statusCode', () => {
    expect(getErrorStatus({ status: 400, statusCode: 401 })).to.equal(400)
  })

  it('should fall back to statusCode when status is not an error status', () => {
    expect(getErrorStatus({ status: 200, statusCode: 409 })).to.equal(409)
  })

  it('should ignore anything outside 400 to 599, and non-integers', () => {
    for (const status of [399, 600, 200, 404.5, '404', NaN, null]) {
      expect(getErrorStatus({ status }), String(status)).to.equal(undefined)
    }
  })

  it('should read weird values without throwing', () => {
    const hostile = Object.defineProperty({}, 'status', {
      get() {
        throw new Error('getter')
      },
    })
    expect(getErrorStatus(hostile)).to.equal(undefined)
    expect(getErrorStatus(null)).to.equal(undefined)
    expect(getErrorStatus('boom')).to.equal(undefined)
  })

  it('should keep a 4xx or 5xx the app already set when the error has no status', () => {
    expect(getResponseStatus(new Error('x'), 503)).to.equal(503)
    expect(getResponseStatus(new Error('x'), 200)).to.equal(500)
    expect(getResponseStatus({ status: 418 }, 503)).to.equal(418)
  })
})
