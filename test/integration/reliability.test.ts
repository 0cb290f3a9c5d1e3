import { expect } from 'chai'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { MailTransport } from '../../transports/mail.js'
import { createHarness, waitUntil } from '../helpers.js'
import { rsyslogForSuite } from '../support/rsyslog.js'
import { getDeadPort } from '../support/ports.js'
import { spawnScript } from '../support/processes.js'
import { getTestCertificate, startSmtpServer, type TestSmtpServer } from '../support/smtp.js'
import { scratchPerTest } from '../support/scratch.js'

/** Keys a spool directory still owes: put and never acknowledged, across all its segment files. */
function owedKeys(dir: string): string[] {
  const open = new Map<string, true>()
  for (const name of readdirSync(dir)
    .filter((n) => n.endsWith('.jsonl'))
    .sort()) {
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) {
      try {
        const record = JSON.parse(line) as { t: string; k: string }
        if (record.t === 'put') open.set(record.k, true)
        else open.delete(record.k)
      } catch {
        // the torn last line of a killed process
      }
    }
  }
  return [...open.keys()]
}

describe('reliability', function () {
  this.timeout(90_000)
  const scratch = scratchPerTest('faultline-spool-', 1000)

  describe('a crash', () => {
    let server: TestSmtpServer | undefined
    afterEach(() => server?.close())

    it('should spool the report of an uncaught exception before the process dies, and the next start delivers it once', async () => {
      const dead = await getDeadPort()
      const crashed = spawnScript('crash-child.ts', [scratch.dir, `smtp://u:p@127.0.0.1:${dead}`])
      expect(await crashed.exited).to.equal(1)
      const report = JSON.parse(crashed.lines[0]!) as { id: string; message: string; locus: string }
      expect(report).to.include({
        message: 'TypeError: inventory cache is corrupt (uncaught exception)',
        locus: 'process',
      })
      expect(owedKeys(join(scratch.dir, 'mail'))).to.have.length(1)

      server = await startSmtpServer()
      const mail = { url: server.url, tls: { ca: getTestCertificate().certFile } }
      scratch.h = createHarness({ spoolDir: scratch.dir, managers: ['ops@example.org'], mail })
      const [got] = await waitUntil(
        () => (server!.received.length ? server!.received : undefined),
        10_000,
        'the crash mail',
      )
      expect(got!.mail.headers.get('x-faultline-incident')).to.equal(report.id)
      expect(got!.mail.subject).to.contain(
        'TypeError: inventory cache is corrupt (uncaught exception)',
      )
      // the server has the mail once it answers; the sender knows once the answer is read: then nothing is owed
      await waitUntil(
        () => ((scratch.h!.faultline.stats().mail?.delivered ?? 0) > 0 ? true : undefined),
        10_000,
        'the mail transport confirming the delivery',
      )
      expect(scratch.h.faultline.stats().mail).to.include({ spooled: 0, queued: 0 })
      await scratch.h.faultline.close()
      expect(owedKeys(join(scratch.dir, 'mail'))).to.have.length(0)

      // a third start owes nothing and sends nothing again
      scratch.h = createHarness({ spoolDir: scratch.dir, managers: ['ops@example.org'], mail })
      await new Promise((resolve) => setTimeout(resolve, 500))
      expect(server.received).to.have.length(1)
    })
  })

  describe('a SIGKILL mid-storm', () => {
    const rsyslog = rsyslogForSuite()

    it('should deliver at the next start every report acknowledged to the spool, none twice', async () => {
      await rsyslog().stop()
      const url = `tcp://127.0.0.1:${rsyslog().tcpPort}`
      const storm = spawnScript('storm-kill-child.ts', [scratch.dir, url])
      await waitUntil(
        () => (storm.lines.length >= 6 ? true : undefined),
        30_000,
        'the storm to be under way',
      )
      storm.child.kill('SIGKILL')
      await storm.exited
      const owed = owedKeys(join(scratch.dir, 'syslog'))
      expect(owed.length).to.be.at.least(2000)

      await rsyslog().start()
      scratch.h = createHarness({ spoolDir: scratch.dir, syslog: { url, queueSize: 100_000 } })
      await waitUntil(
        () => (rsyslog().records().length >= owed.length ? true : undefined),
        60_000,
        `${owed.length} records`,
      )
      await scratch.h.faultline.close({ timeoutMs: 5000 })
      const seen = new Map<string, number>()
      for (const record of rsyslog().records()) {
        const id = /id="([^"]+)"/.exec(record.structuredData)?.[1]
        if (id) seen.set(id, (seen.get(id) ?? 0) + 1)
      }
      for (const key of owed) expect(seen.get(key), key).to.equal(1)
      expect([...seen.values()].every((n) => n === 1)).to.equal(true)
      expect(owedKeys(join(scratch.dir, 'syslog'))).to.have.length(0)
    })
  })

  describe('process handling', () => {
    it('should flush everything and then end the process on SIGTERM with handleSignals', async () => {
      const file = join(scratch.dir, 'errors.log')
      const child = spawnScript('signal-child.ts', [file, 'signal'])
      await waitUntil(() => (child.lines.includes('ready') ? true : undefined), 20_000, 'the child')
      const signalled = new Promise<NodeJS.Signals | null>((resolve) =>
        child.child.on('exit', (_code, signal) => resolve(signal)),
      )
      child.child.kill('SIGTERM')
      expect(await signalled).to.equal('SIGTERM')
      expect(readFileSync(file, 'utf8').trim().split('\n')).to.have.length(500)
    })

    it('should report an unhandled rejection synchronously and exit with code 1', async () => {
      const file = join(scratch.dir, 'errors.log')
      const child = spawnScript('signal-child.ts', [file, 'reject'])
      expect(await child.exited).to.equal(1)
      const lines = readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { message: string; locus?: string })
      expect(lines).to.have.length(501)
      expect(lines.at(-1)).to.include({
        message: 'RangeError: nobody awaited this (unhandled rejection)',
        locus: 'process',
      })
    })

    it('should step aside in debug mode, leaving the crash to Node', async () => {
      const file = join(scratch.dir, 'errors.log')
      const child = spawnScript('signal-child.ts', [file, 'debug'])
      expect(await child.exited).to.equal(1)
      await new Promise((resolve) => setTimeout(resolve, 100))
      const text = readFileSync(file, 'utf8')
      expect(text).not.to.contain('nobody awaited this')
    })
  })

  it('should report per transport what was delivered, queued, spooled, retried and dropped', async () => {
    const dead = await getDeadPort()
    scratch.h = createHarness({
      spoolDir: scratch.dir,
      managers: ['ops@example.org'],
      mail: {
        url: `smtp://u:p@127.0.0.1:${dead}`,
        timeouts: { connectionMs: 200, greetingMs: 200, socketMs: 200 },
      },
    })
    for (const kind of ['A', 'B', 'C'])
      scratch.h.faultline.capture(Object.assign(new Error('x'), { name: `${kind}Error` }))
    const transport = scratch.h.faultline.logger.transports.find(
      (t) => t instanceof MailTransport,
    ) as MailTransport
    await waitUntil(() => (transport.stats().retried > 0 ? true : undefined), 10_000, 'a retry')
    const stats = scratch.h.faultline.stats()
    expect(stats.mail).to.include({ delivered: 0, queued: 3, spooled: 3, dropped: 0 })
    expect(stats.mail!.retried).to.be.at.least(1)
  })
})
