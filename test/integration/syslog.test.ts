import { expect } from 'chai'
import request from 'supertest'
import type { Report } from '../../lib/index.js'
import { formatSyslogLine, unescapeLine } from '../../transports/syslog/format.js'
import { SyslogTransport } from '../../transports/syslog.js'
import { captureStderr, createApp, createHarness, waitUntil, type Harness } from '../helpers.js'
import { getDeadPort } from '../support/ports.js'
import { spawnScript } from '../support/processes.js'
import { rsyslogForSuite, startRsyslog, type SyslogRecord } from '../support/rsyslog.js'

function transportOf(h: Harness): SyslogTransport {
  return h.faultline.logger.transports.find((t) => t instanceof SyslogTransport) as SyslogTransport
}

/** The line the transport formats for a report, to compare with what rsyslog stored. */
function expectedLine(h: Harness, report: Report): string {
  const t = transportOf(h)
  const s = t.settings
  return formatSyslogLine(
    { ...report, level: report.level },
    {
      format: s.format,
      facility: s.facility,
      hostname: s.hostname,
      appName: s.appName,
      procid: String(process.pid),
      sdId: s.sdId,
    },
  )
}

function byIncident(records: SyslogRecord[], id: string): SyslogRecord[] {
  return records.filter((r) => r.structuredData.includes(`id="${id}"`))
}

describe('syslog to a real rsyslog', function () {
  this.timeout(60_000)
  const rsyslog = rsyslogForSuite()
  let h: Harness | undefined
  afterEach(async () => {
    await h?.faultline.close()
    h = undefined
  })

  function urlFor(protocol: 'udp' | 'tcp' | 'tls'): string {
    const port = { udp: rsyslog().udpPort, tcp: rsyslog().tcpPort, tls: rsyslog().tlsPort }[
      protocol
    ]
    return `${protocol}://127.0.0.1:${port}`
  }

  for (const protocol of ['udp', 'tcp', 'tls'] as const) {
    it(`should deliver over ${protocol.toUpperCase()} what was sent, byte for byte: facility, severity, app-name, MSGID, structured data, message`, async () => {
      h = createHarness({
        appName: 'shop',
        syslog: { url: urlFor(protocol), facility: 'local3', tls: { ca: rsyslog().caFile } },
      })
      const app = createApp(h.faultline)
      app.get('/orders/:id', () => {
        throw new Error('Zahlung fehlgeschlagen — 注文 "quoted" [x] back\\slash', {
          cause: new Error('line one\nline two\ttabbed'),
        })
      })
      app.use(h.faultline.errorHandler())
      await request(app).get('/orders/7?token=syslog-secret-123').expect(500)
      await request(app).get('/missing')
      const [traceback, warning] = await h.waitForReports(2)
      const records = await waitUntil(
        () => {
          const all = rsyslog().records()
          return byIncident(all, traceback!.id).length && byIncident(all, warning!.id).length
            ? all
            : undefined
        },
        10_000,
        'both records',
      )
      const [got] = byIncident(records, traceback!.id)
      expect(got, 'the traceback record').to.not.equal(undefined)
      expect(got!.input).to.equal(protocol)
      expect(got).to.include({
        facility: 'local3',
        severity: 'err',
        appName: 'shop',
        msgid: 'TRACEBACK',
        procid: String(process.pid),
      })
      expect(got!.rawmsg).to.equal(expectedLine(h, traceback!))
      expect(got!.structuredData).to.equal(
        `[faultline@32473 id="${traceback!.id}" fingerprint="${traceback!.fingerprint}" status="500" method="GET" route="/orders/:id" path="/orders/7" locus="before-headers"]`,
      )
      // the whole traceback, causes included, comes back from the one-line message
      const stack = unescapeLine(got!.msg.slice(got!.msg.indexOf(' stack=') + ' stack='.length))
      expect(stack).to.equal(
        `${traceback!.error!.stack}\nCaused by: ${traceback!.error!.cause!.stack}`,
      )
      expect(got!.msg).to.not.contain('syslog-secret-123')
      const [warn] = byIncident(records, warning!.id)
      expect(warn).to.include({ severity: 'warning', msgid: 'WARNING' })
    })
  }

  it('should keep a 70 KiB message whole over TCP', async () => {
    h = createHarness({ syslog: urlFor('tcp') })
    // deep stacks with long messages: a traceback past 70 KiB once its causes are written out
    const limit = Error.stackTraceLimit
    Error.stackTraceLimit = 60
    const deep = (n: number, make: () => Error): Error => (n === 0 ? make() : deep(n - 1, make))
    let error: Error = deep(40, () => new Error(`root ${'r'.repeat(8000)}`))
    for (let i = 0; i < 7; i++) {
      const cause = error
      error = deep(40, () => new Error(`level ${i} ${'x'.repeat(8000)}`, { cause }))
    }
    Error.stackTraceLimit = limit
    const id = h.faultline.capture(error)
    const [report] = await h.waitForReports(1)
    const [got] = await waitUntil(
      () => {
        const found = byIncident(rsyslog().records(), id)
        return found.length ? found : undefined
      },
      10_000,
      'the big record',
    )
    expect(Buffer.byteLength(got!.rawmsg)).to.be.above(70 * 1024)
    expect(got!.rawmsg).to.equal(expectedLine(h, report!))
  })

  it('should cut an oversized datagram with a marker, never split it', async () => {
    h = createHarness({ syslog: { url: urlFor('udp'), udpMaxBytes: 4096 } })
    const id = h.faultline.capture(new Error(`big ${'y'.repeat(7000)}`))
    const [got] = await waitUntil(
      () => {
        const found = byIncident(rsyslog().records(), id)
        return found.length ? found : undefined
      },
      10_000,
      'the datagram',
    )
    expect(Buffer.byteLength(got!.rawmsg)).to.be.at.most(4096)
    expect(got!.rawmsg).to.match(/… \[truncated \d+ bytes to 4096\]$/)
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(
      rsyslog()
        .records()
        .filter((r) => r.rawmsg.startsWith('yyyy')),
    ).to.have.length(0)
  })

  for (const protocol of ['tcp', 'tls'] as const) {
    it(`should lose nothing logged while a ${protocol.toUpperCase()} receiver was away, once it is back`, async () => {
      h = createHarness({ syslog: { url: urlFor(protocol), tls: { ca: rsyslog().caFile } } })
      const ids: string[] = []
      const printed = await captureStderr(async () => {
        for (let i = 0; i < 30; i++) ids.push(h!.faultline.capture(new Error(`before ${i}`)))
        await waitUntil(
          () => (ids.every((id) => byIncident(rsyslog().records(), id).length) ? true : undefined),
          10_000,
          'the first 30',
        )
        await rsyslog().stop()
        await new Promise((resolve) => setTimeout(resolve, 200))
        for (let i = 0; i < 30; i++) ids.push(h!.faultline.capture(new Error(`while away ${i}`)))
        await new Promise((resolve) => setTimeout(resolve, 500))
        await rsyslog().start()
        await waitUntil(
          () => (ids.every((id) => byIncident(rsyslog().records(), id).length) ? true : undefined),
          30_000,
          'all 60 records',
        )
      })
      const stderr = printed + h!.notices.join('')
      // plain syslog is at least once: what went out in the last moments before the stop is sent again
      const counts = ids.map((id) => byIncident(rsyslog().records(), id).length)
      expect(
        counts.slice(0, 30).every((n) => n === 1 || n === 2),
        `before the stop: ${counts.slice(0, 30)}`,
      ).to.equal(true)
      expect(counts.slice(30), 'while away').to.deep.equal(ids.slice(30).map(() => 1))
      expect(stderr).to.contain(`${urlFor(protocol)} is unreachable`)
      expect(stderr).to.contain(`${urlFor(protocol)} is reachable again`)
    })
  }

  it('should count and announce what the queue bound dropped once the receiver is back', async () => {
    h = createHarness({ syslog: { url: urlFor('tcp'), queueSize: 10 } })
    h.faultline.capture(new Error('warm up'))
    await waitUntil(
      () => (transportOf(h!).stats().delivered ? true : undefined),
      10_000,
      'a first message',
    )
    const ids: string[] = []
    const printed = await captureStderr(async () => {
      await rsyslog().stop()
      await new Promise((resolve) => setTimeout(resolve, 200))
      for (let i = 0; i < 25; i++) ids.push(h!.faultline.capture(new Error(`overflow ${i}`)))
      await rsyslog().start()
      await waitUntil(
        () =>
          rsyslog()
            .records()
            .some((r) => r.msgid === 'DROPPED')
            ? true
            : undefined,
        30_000,
        'the dropped notice',
      )
      await new Promise((resolve) => setTimeout(resolve, 300))
    })
    const stderr = printed + h!.notices.join('')
    const dropped = transportOf(h).stats().dropped
    const received = ids.filter((id) => byIncident(rsyslog().records(), id).length === 1).length
    // every message is either received or counted as dropped, and the counts are announced
    expect(dropped).to.be.at.least(15)
    expect(received + dropped).to.equal(25)
    expect(
      rsyslog()
        .records()
        .find((r) => r.msgid === 'DROPPED')!.msg,
    ).to.contain(`${dropped} messages were dropped`)
    expect(stderr).to.contain(`${dropped} messages to tcp://127.0.0.1`)
  })

  it('should refuse a TLS receiver whose certificate it does not trust, and say so', async () => {
    const untrusted = await startRsyslog({ untrustedCert: true })
    try {
      const t = createHarness({
        syslog: { url: `tls://127.0.0.1:${untrusted.tlsPort}`, tls: { ca: untrusted.caFile } },
      })
      t.faultline.capture(new Error('must not leave unverified'))
      await new Promise((resolve) => setTimeout(resolve, 1000))
      await t.faultline.close({ timeoutMs: 300 })
      const stderr = t.notices.join('')
      expect(stderr).to.match(/is unreachable: its TLS certificate was refused/)
      expect(untrusted.records()).to.have.length(0)
    } finally {
      await untrusted.close()
    }
  })

  it('should never crash the app, with or without listeners on the logger', async () => {
    const dead = await getDeadPort()
    h = createHarness({ syslog: { url: `tcp://127.0.0.1:${dead}` } })
    h.faultline.logger.removeAllListeners('error')
    h.faultline.logger.removeAllListeners('warn')
    const app = createApp(h.faultline)
    app.get('/boom', () => {
      throw new Error('receiver is dead')
    })
    app.use(h.faultline.errorHandler())
    for (let i = 0; i < 5; i++) await request(app).get('/boom').expect(500)
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(transportOf(h).stats().queued).to.be.at.least(5)
  })

  it('should let a process that logged over TCP exit within a second of close()', async () => {
    const { child, lines, exited } = spawnScript('syslog-exit-child.ts', [urlFor('tcp')])
    const exitedAt = await new Promise<number>((resolve) =>
      child.on('exit', () => resolve(Date.now())),
    )
    await exited
    const closedAt = Number(lines[0])
    expect(closedAt).to.be.above(0)
    expect(exitedAt - closedAt).to.be.below(1000)
  })
})
