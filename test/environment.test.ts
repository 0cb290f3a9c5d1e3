import { existsSync, readdirSync } from 'node:fs'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'chai'
import { createFaultline, FaultlineConfigError, type FaultlineOptions } from '../lib/index.js'
import { waitUntil } from './helpers.js'
import { runScript } from './support/processes.js'
import { getTestCertificate, startSmtpServer, type TestSmtpServer } from './support/smtp.js'

/** The start-up error of these options under this environment. */
function startUpError(
  options: FaultlineOptions,
  env: Record<string, string>,
): FaultlineConfigError {
  try {
    const faultline = createFaultline({ stderr: false, spoolDir: false, ...options, env })
    void faultline.close()
  } catch (err) {
    expect(err).to.be.instanceOf(FaultlineConfigError)
    return err as FaultlineConfigError
  }
  throw new Error(`no error for ${JSON.stringify(env)}`)
}

describe('set-up from the environment', () => {
  let server: TestSmtpServer
  let dir: string
  before(async () => {
    server = await startSmtpServer()
  })
  after(() => server.close())
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'faultline-env-'))
    server.received.length = 0
  })
  afterEach(() => rm(dir, { recursive: true, force: true }))

  const mailUrl = () => `${server.url}?ca=${encodeURIComponent(getTestCertificate().certFile)}`

  it('should write mail to an outbox and file a local ticket from FAULTLINE_MAIL=outbox:… and FAULTLINE_TICKETS alone', async () => {
    const faultline = createFaultline({
      spoolDir: false,
      env: {
        NODE_ENV: 'production',
        FAULTLINE_MAIL: `outbox:${join(dir, 'outbox')}`,
        FAULTLINE_TICKETS: `local:${join(dir, 'tickets')}`,
        FAULTLINE_MANAGERS: 'ops@example.org',
        FAULTLINE_STDERR: '0',
      },
    })
    try {
      faultline.capture(new TypeError('total is undefined'))
      const mails = await waitUntil(
        () => {
          const files = existsSync(join(dir, 'outbox')) ? readdirSync(join(dir, 'outbox')) : []
          return files.some((f) => f.endsWith('.eml')) ? files : undefined
        },
        10_000,
        'a mail in the outbox',
      )
      expect(mails.filter((f) => f.endsWith('.eml'))).to.have.length(1)
      const tickets = await waitUntil(
        () => {
          const files = existsSync(join(dir, 'tickets')) ? readdirSync(join(dir, 'tickets')) : []
          return files.some((f) => f.endsWith('.json')) ? files : undefined
        },
        10_000,
        'a local ticket',
      )
      expect(tickets.filter((f) => f.endsWith('.json'))).to.have.length(1)
    } finally {
      await faultline.close()
    }
  })

  it('should mail the managers with FAULTLINE_MAIL, FAULTLINE_MANAGERS and FAULTLINE_APP_NAME alone', async () => {
    const faultline = createFaultline({
      spoolDir: false,
      env: {
        NODE_ENV: 'production',
        FAULTLINE_MAIL: mailUrl(),
        FAULTLINE_MANAGERS: 'ops@example.org, dev@example.org',
        FAULTLINE_APP_NAME: 'shop',
        FAULTLINE_STDERR: '0',
      },
    })
    try {
      faultline.capture(new TypeError('total is undefined'))
      const [received] = await waitUntil(
        () => (server.received.length ? server.received : undefined),
        10_000,
        'a mail',
      )
      expect(received!.envelope.to).to.have.members(['ops@example.org', 'dev@example.org'])
      expect(received!.mail.subject).to.match(/^\[shop\] TypeError: total is undefined/)
    } finally {
      await faultline.close({ timeoutMs: 2000 })
    }
  })

  it("should let the code's options win, and fill in only what they leave unset", async () => {
    const faultline = createFaultline({
      appName: 'shop',
      stderr: false,
      spoolDir: false,
      // a destination object naming no target takes its URL from the environment
      mail: { level: 'warn' },
      env: {
        NODE_ENV: 'production',
        FAULTLINE_APP_NAME: 'not-the-shop',
        FAULTLINE_MAIL: mailUrl(),
        FAULTLINE_MANAGERS: 'ops@example.org',
        FAULTLINE_STDERR: 'debug',
      },
    })
    try {
      faultline.capture(new Error('from a job'))
      const [received] = await waitUntil(
        () => (server.received.length ? server.received : undefined),
        10_000,
        'a mail',
      )
      expect(received!.mail.subject).to.match(/^\[shop\] /)
      expect(faultline.logger.transports.map((t) => (t as { name?: string }).name)).not.to.include(
        'stderr',
      )
      const mail = faultline.logger.transports.find(
        (t) => (t as { name?: string }).name === 'mail',
      )!
      expect(mail.level).to.equal('warn')
    } finally {
      await faultline.close({ timeoutMs: 2000 })
    }
    // a bad variable the code overrides is never read
    const ignored = createFaultline({
      stderr: false,
      spoolDir: false,
      syslog: 'udp://127.0.0.1:514',
      env: { FAULTLINE_SYSLOG: 'relp://', NODE_ENV: 'production' },
    })
    await ignored.close()
  })

  it('should fail at start-up on a bad variable, naming the variable and hiding any password', () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ FAULTLINE_SYSLOG: 'relp://' }, 'FAULTLINE_SYSLOG'],
      [
        { FAULTLINE_MAIL: 'smtp://alerts:hunter2@:587', FAULTLINE_MANAGERS: 'ops@example.org' },
        'FAULTLINE_MAIL',
      ],
      [{ FAULTLINE_TICKETS: 'jira+https://hunter2@t.example.org/projects/p' }, 'FAULTLINE_TICKETS'],
      [{ FAULTLINE_STORE: 'redis://:hunter2@127.0.0.1:0' }, 'FAULTLINE_STORE'],
      [{ FAULTLINE_MANAGERS: 'ops' }, 'FAULTLINE_MANAGERS'],
      [{ FAULTLINE_MANAGERS: ' , ' }, 'FAULTLINE_MANAGERS'],
      [{ FAULTLINE_APP_NAME: 'the shop' }, 'FAULTLINE_APP_NAME'],
      [{ FAULTLINE_FILE: '/proc/version/errors.log' }, 'FAULTLINE_FILE'],
      [{ FAULTLINE_STDERR: 'loud' }, 'FAULTLINE_STDERR'],
      [{ FAULTLINE_DEBUG: 'maybe' }, 'FAULTLINE_DEBUG'],
      [{ FAULTLINE_FORCE: 'mail,pager' }, 'FAULTLINE_FORCE'],
    ]
    for (const [env, variable] of cases) {
      const err = startUpError({}, { NODE_ENV: 'production', ...env })
      expect(err.field, JSON.stringify(env)).to.equal(variable)
      expect(err.message).to.match(new RegExp(`^faultline: environment variable ${variable} `))
      expect(err.message).not.to.contain('hunter2')
    }
  })

  it('should send in debug mode with FAULTLINE_FORCE, unless the code says force: false', async () => {
    const outbox = join(dir, 'outbox')
    const forced = createFaultline({
      stderr: false,
      spoolDir: false,
      managers: ['ops@example.org'],
      tickets: `local:${join(dir, 'tickets')}`,
      mail: { outbox, force: false },
      env: { NODE_ENV: 'development', FAULTLINE_FORCE: '1' },
    })
    expect(forced.debug).to.equal(true)
    forced.capture(new Error('in development'))
    await forced.close({ timeoutMs: 2000 })
    expect((await readdir(join(dir, 'tickets'))).filter((f) => f.endsWith('.json'))).to.have.length(
      1,
    )
    expect(await readdir(outbox).catch(() => [])).to.deep.equal([])
  })

  it('should have faultline test-mail read FAULTLINE_MANAGERS as the library does', async () => {
    const cli = join(import.meta.dirname, '..', 'bin', 'faultline.ts')
    const env = { ...process.env, FAULTLINE_MAIL: mailUrl() }
    const sent = await runScript(cli, ['test-mail'], {
      env: { ...env, FAULTLINE_MANAGERS: 'ops@example.org,dev@example.org' },
      allowFailure: true,
    })
    expect(sent.code, sent.stderr).to.equal(0)
    expect(server.received[0]!.envelope.to).to.have.members(['ops@example.org', 'dev@example.org'])
    const bad = await runScript(cli, ['test-mail'], {
      env: { ...env, FAULTLINE_MANAGERS: 'ops' },
      allowFailure: true,
    })
    expect(bad.code).to.equal(2)
    expect(bad.stderr).to.contain('FAULTLINE_MANAGERS')
  })
})
