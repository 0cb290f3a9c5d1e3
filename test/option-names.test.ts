import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'chai'
import request from 'supertest'
import {
  createFaultline,
  FaultlineConfigError,
  type FaultlineOptions,
  type Notice,
} from '../lib/index.js'
import { RENAMED_OPTIONS } from '../lib/config/renames.js'
import { createApp, createHarness } from './helpers.js'

/** The options object that sets `path` (such as `mail.timeouts.socket`) to `value`. */
function optionAt(path: string, value: unknown): Record<string, unknown> {
  const [head, ...rest] = path.split('.')
  return { [head!]: rest.length ? optionAt(rest.join('.'), value) : value }
}

/** A setting each transport accepts, so only the old name can be at fault. */
const BASE: Record<string, Record<string, unknown>> = {
  mail: { outbox: 'var/never-written' },
  tickets: { url: 'local:var/never-written' },
}

function startUpError(options: Record<string, unknown>): FaultlineConfigError {
  try {
    const faultline = createFaultline({
      env: false,
      stderr: false,
      spoolDir: false,
      debug: false,
      ...options,
    } as FaultlineOptions)
    void faultline.close()
  } catch (err) {
    expect(err).to.be.instanceOf(FaultlineConfigError)
    return err as FaultlineConfigError
  }
  throw new Error(`no error for ${JSON.stringify(options)}`)
}

describe('option names', () => {
  for (const [old, now] of RENAMED_OPTIONS.filter(([old]) => !old.startsWith('close.'))) {
    it(`should fail at start-up on the old name ${old}, saying it was renamed to ${now}`, () => {
      const [destination] = old.split('.') as [string]
      const value = /warnings|errors/.test(old) ? true : 1000
      const given = optionAt(old, value)[destination] as Record<string, unknown>
      const err = startUpError({ [destination]: { ...BASE[destination], ...given } })
      expect(err.field).to.equal(old)
      expect(err.message).to.contain(`option "${old}" was renamed to "${now}"`)
    })
  }

  it('should still close on close({ timeout }), saying once that it was renamed to timeoutMs', async () => {
    const notices: Notice[] = []
    const faultline = createFaultline({
      env: false,
      stderr: false,
      spoolDir: false,
      notices: (notice) => notices.push(notice),
    })
    await faultline.close({ timeout: 100 } as never)
    await faultline.close({ timeout: 100 } as never)
    const renamed = notices.filter((n) => n.code === 'FAULTLINE_RENAMED_OPTION')
    expect(renamed).to.have.length(1)
    expect(renamed[0]!.message).to.contain('renamed to "close.timeoutMs"')
  })

  it('should name a bad level, ceiling or Redmine field under its new name', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ mail: { ...BASE.mail, level: 'info' } }, 'mail.level'],
      [{ mail: { ...BASE.mail, ceiling: { max: 0 } } }, 'mail.ceiling.max'],
      [{ mail: { ...BASE.mail, ceiling: { perHour: 3 } } }, 'mail.ceiling.perHour'],
      [{ mail: { ...BASE.mail, ceiling: 30 } }, 'mail.ceiling'],
      [{ tickets: { ...BASE.tickets, level: 'warn' } }, 'tickets.level'],
      [{ tickets: { ...BASE.tickets, ceiling: { periodMs: -1 } } }, 'tickets.ceiling.periodMs'],
      [{ tickets: { ...BASE.tickets, redmine: { trackerId: 2 } } }, 'tickets.redmine'],
      [
        { tickets: { url: 'redmine+https://K@t.example.org/projects/p', redmine: { tracker: 2 } } },
        'tickets.redmine.tracker',
      ],
      [
        {
          tickets: { url: 'redmine+https://K@t.example.org/projects/p', redmine: { trackerId: 0 } },
        },
        'tickets.redmine.trackerId',
      ],
    ]
    for (const [options, field] of cases)
      expect(startUpError(options).field, JSON.stringify(options)).to.equal(field)
  })

  describe('level on mail and tickets', () => {
    let dir: string
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'faultline-names-'))
    })
    afterEach(() => rm(dir, { recursive: true, force: true }))

    /** One warning (a 404), one hand-written error (a bare 500) and one traceback, through a real app. */
    async function threeOutcomes(options: FaultlineOptions): Promise<void> {
      const h = createHarness(options)
      const app = createApp(h.faultline)
      app.get('/bare-500', (_req, res) => {
        res.status(500).send('no exception')
      })
      app.get('/boom', () => {
        throw new TypeError('total is undefined')
      })
      app.use(h.faultline.notFound())
      app.use(h.faultline.errorHandler())
      await request(app).get('/no-such-page')
      await request(app).get('/bare-500')
      await request(app).get('/boom')
      await h.waitForReports(3)
      await h.faultline.close({ timeoutMs: 5000 })
    }

    const count = async (sub: string, ext: string) =>
      (await readdir(join(dir, sub)).catch(() => [])).filter((f) => f.endsWith(ext)).length

    it("should mail errors and tracebacks by default, and warnings too with level: 'warn'", async () => {
      await threeOutcomes({ managers: ['ops@example.org'], mail: { outbox: join(dir, 'a') } })
      await threeOutcomes({
        managers: ['ops@example.org'],
        mail: { outbox: join(dir, 'b'), level: 'warn' },
      })
      expect(await count('a', '.eml')).to.equal(2)
      expect(await count('b', '.eml')).to.equal(3)
    })

    it("should file tracebacks by default, and hand-written errors too with level: 'error'", async () => {
      await threeOutcomes({ tickets: { url: `local:${join(dir, 'a')}` } })
      await threeOutcomes({ tickets: { url: `local:${join(dir, 'b')}`, level: 'error' } })
      expect(await count('a', '.json')).to.equal(1)
      expect(await count('b', '.json')).to.equal(2)
    })
  })
})
