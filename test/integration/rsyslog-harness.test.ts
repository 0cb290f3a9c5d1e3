import { createSocket } from 'node:dgram'
import { readFileSync } from 'node:fs'
import { createConnection } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { expect } from 'chai'
import { ensureRsyslog, startRsyslog, type Rsyslog, type SyslogRecord } from '../support/rsyslog.js'

// Hand-made RFC 5424 lines, so these tests pin down what rsyslog does with exact bytes,
// independent of any transport under development.
interface Case {
  name: string
  pri: number
  facility: string
  severity: string
  sd?: string
  msg?: string // undefined: no MSG part at all (the line ends after SD)
}

const TIMESTAMP = '2024-05-06T07:08:09.123456+02:00'
// Wire form of SD param values: `"`, `\` and `]` escaped with a backslash (RFC 5424 §6.3.3).
const SD = String.raw`[faultline@32473 id="e-1" status="500" quote="say \"hi\"" path="C:\\temp\\x" bracket="a\]b" text="日本"][origin ip="127.0.0.1"]`

function cases(bigBytes: number): Case[] {
  return [
    { name: 'ascii', pri: 131, facility: 'local0', severity: 'err', msg: 'hello world' },
    {
      name: 'multiline',
      pri: 14,
      facility: 'user',
      severity: 'info',
      msg: 'Error: boom\n    at f (/app/a.js:1:2)\n\tindented\r\nlast line',
    },
    {
      name: 'utf8',
      pri: 165,
      facility: 'local4',
      severity: 'notice',
      msg: 'héllo wörld — 日本語 🚀',
    },
    { name: 'bom', pri: 12, facility: 'user', severity: 'warning', msg: '\ufeffBOM then text' },
    { name: 'space', pri: 191, facility: 'local7', severity: 'debug', msg: '  two leading spaces' },
    { name: 'trail', pri: 0, facility: 'kern', severity: 'emerg', msg: 'ends with LF\n' },
    {
      name: 'sd',
      pri: 137,
      facility: 'local1',
      severity: 'alert',
      sd: SD,
      msg: 'with structured data',
    },
    { name: 'nomsg', pri: 10, facility: 'user', severity: 'crit', sd: '[x@32473 a="1"]' },
    { name: 'big', pri: 131, facility: 'local0', severity: 'err', msg: 'x'.repeat(bigBytes) },
  ]
}

function line(c: Case, msgid: string): string {
  return `<${c.pri}>1 ${TIMESTAMP} web-1 faultline ${process.pid} ${msgid} ${c.sd ?? '-'}${c.msg === undefined ? '' : ` ${c.msg}`}`
}

/** RFC 6587 octet counting: the byte length, a space, the message, no trailer. */
function octetCounted(lines: string[]): Buffer {
  return Buffer.concat(
    lines.flatMap((l) => [Buffer.from(`${Buffer.byteLength(l)} `), Buffer.from(l)]),
  )
}

function sendTcp(port: number, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ host: '127.0.0.1', port }, () => sock.end(data))
    sock.once('error', reject).once('close', () => resolve())
  })
}

function sendTls(port: number, ca: string, data: Buffer): Promise<{ authorized: boolean }> {
  return new Promise((resolve, reject) => {
    const sock = tlsConnect(
      {
        host: '127.0.0.1',
        port,
        ca: readFileSync(ca),
        servername: 'localhost',
        rejectUnauthorized: true,
      },
      () => sock.end(data),
    )
    sock.once('error', reject).once('close', () => resolve({ authorized: sock.authorized }))
  })
}

async function sendUdp(port: number, lines: string[]): Promise<void> {
  const sock = createSocket('udp4')
  try {
    for (const l of lines)
      await new Promise<void>((resolve, reject) =>
        sock.send(l, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
      )
  } finally {
    sock.close()
  }
}

function byMsgid(records: SyslogRecord[], msgid: string): SyslogRecord {
  const found = records.filter((r) => r.msgid === msgid)
  expect(found, `records with msgid ${msgid}`).to.have.length(1)
  return found[0] as SyslogRecord
}

function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port })
    sock.once('connect', () => (sock.destroy(), resolve(false))).once('error', () => resolve(true))
  })
}

describe('rsyslog test harness (real rsyslogd)', function () {
  let rs: Rsyslog

  before(async function () {
    this.timeout(240_000) // a first run may apt-get install rsyslog
    await ensureRsyslog()
    rs = await startRsyslog()
  })
  after(async () => {
    await rs?.close()
  })

  // 70 KiB over TCP/TLS; UDP is capped by the 65507-byte IPv4 datagram, so its "big" fills exactly one maximal datagram.
  const transports = [
    { input: 'tcp', big: 70 * 1024, send: (l: string[]) => sendTcp(rs.tcpPort, octetCounted(l)) },
    {
      input: 'tls',
      big: 70 * 1024,
      send: async (l: string[]) =>
        void expect((await sendTls(rs.tlsPort, rs.caFile, octetCounted(l))).authorized).to.equal(
          true,
        ),
    },
    {
      input: 'udp',
      big:
        65507 -
        Buffer.byteLength(
          line({ name: '', pri: 131, facility: '', severity: '', msg: '' }, 'udp-big'),
        ),
      send: (l: string[]) => sendUdp(rs.udpPort, l),
    },
  ] as const

  for (const t of transports) {
    it(`returns RFC 5424 messages sent over ${t.input} byte-for-byte`, async () => {
      const all = cases(t.big)
      const before = rs.records().length
      await t.send(all.map((c) => line(c, `${t.input}-${c.name}`)))
      const records = await rs.waitFor(before + all.length)
      for (const c of all) {
        const r = byMsgid(records, `${t.input}-${c.name}`)
        expect(r.input, c.name).to.equal(t.input)
        expect(
          r.msg === (c.msg ?? ''),
          `${c.name}: msg differs (got ${r.msg.length} chars)`,
        ).to.equal(true)
        expect(r.rawmsg === line(c, r.msgid), `${c.name}: rawmsg differs`).to.equal(true)
        expect({ pri: r.pri, facility: r.facility, severity: r.severity }, c.name).to.deep.equal({
          pri: c.pri,
          facility: c.facility,
          severity: c.severity,
        })
        expect(r.structuredData, c.name).to.equal(c.sd ?? '-')
        expect([r.protocolVersion, r.timestamp, r.hostname, r.appName, r.procid]).to.deep.equal([
          '1',
          TIMESTAMP,
          'web-1',
          'faultline',
          String(process.pid),
        ])
      }
      expect(Buffer.byteLength(line(all.at(-1) as Case, `${t.input}-big`))).to.be.at.least(
        t.input === 'udp' ? 65507 : 70 * 1024,
      )
    })
  }

  it('keeps structured data verbatim, escapes included', async () => {
    const before = rs.records().length
    await sendTcp(
      rs.tcpPort,
      octetCounted([
        line(
          { name: 'sd', pri: 14, facility: 'user', severity: 'info', sd: SD, msg: 'x' },
          'sd-verbatim',
        ),
      ]),
    )
    const r = byMsgid(await rs.waitFor(before + 1), 'sd-verbatim')
    expect(r.structuredData).to.equal(SD)
    expect(r.structuredData)
      .to.include(String.raw`quote="say \"hi\""`)
      .and.include(String.raw`path="C:\\temp\\x"`)
      .and.include(String.raw`bracket="a\]b"`)
  })

  it('turns a NUL inside MSG into "#000" and then drops the other control characters', async () => {
    const before = rs.records().length
    const c: Case = {
      name: 'nul',
      pri: 14,
      facility: 'user',
      severity: 'info',
      msg: 'a\u0000b\nc\td\u001be',
    }
    const escOnly: Case = { ...c, msg: 'a\u001b[31mred\u0007\r\n' }
    await sendTcp(rs.tcpPort, octetCounted([line(c, 'q-nul'), line(escOnly, 'q-esc')]))
    const records = await rs.waitFor(before + 2)
    expect(byMsgid(records, 'q-nul').msg).to.equal('a#000bcde')
    expect(byMsgid(records, 'q-esc').msg).to.equal(escOnly.msg)
  })

  it('accepts octet-counted frames up to 200000 bytes; a bigger frame garbles the rest of the connection', async () => {
    const before = rs.records().length
    const fit: Case = { name: 'fit', pri: 14, facility: 'user', severity: 'info', msg: '' }
    fit.msg = 'f'.repeat(200_000 - Buffer.byteLength(line(fit, 'q-fit')))
    const after: Case = { ...fit, msg: 'still framed' }
    await sendTcp(rs.tcpPort, octetCounted([line(fit, 'q-fit'), line(after, 'q-after-fit')]))
    let records = await rs.waitFor(before + 2)
    expect(byMsgid(records, 'q-fit').msg).to.equal(fit.msg)
    expect(byMsgid(records, 'q-after-fit').msg).to.equal('still framed')

    // imtcp's maxFrameSize (default 200000) makes it fall back to LF framing for the rest of the session.
    const tooBig: Case = { ...fit, msg: `${fit.msg}!` }
    const count = rs.records().length
    await sendTcp(rs.tcpPort, octetCounted([line(tooBig, 'q-fit'), line(after, 'q-lost')]))
    await rs.waitFor(count + 1)
    await new Promise((resolve) => setTimeout(resolve, 300))
    records = rs.records().slice(count)
    expect(records.filter((r) => r.msgid === 'q-lost' || r.msgid === 'q-fit')).to.have.length(0)
    // One record: the length digits glued to the frame (the space is eaten), then the next frame run on after it.
    expect(records).to.have.length(1)
    expect(
      records[0]?.rawmsg.startsWith(`${Buffer.byteLength(line(tooBig, 'q-fit'))}<14>1 `),
    ).to.equal(true)
    expect(records[0]?.rawmsg.endsWith(`q-lost - still framed`)).to.equal(true)
  })

  it('keeps accumulating records across stop() and start() on the same ports', async () => {
    const ports = [rs.udpPort, rs.tcpPort, rs.tlsPort]
    const c: Case = {
      name: 'restart',
      pri: 14,
      facility: 'user',
      severity: 'info',
      msg: 'before stop',
    }
    const before = rs.records().length
    await sendTcp(rs.tcpPort, octetCounted([line(c, 'r-before')]))
    await rs.waitFor(before + 1)
    await rs.stop()
    expect(await refusesConnections(rs.tcpPort)).to.equal(true)
    expect(rs.records()).to.have.length(before + 1) // the file outlives the daemon
    await rs.start()
    expect([rs.udpPort, rs.tcpPort, rs.tlsPort]).to.deep.equal(ports)
    await sendTcp(rs.tcpPort, octetCounted([line({ ...c, msg: 'after' }, 'r-tcp')]))
    await sendTls(rs.tlsPort, rs.caFile, octetCounted([line({ ...c, msg: 'after' }, 'r-tls')]))
    await sendUdp(rs.udpPort, [line({ ...c, msg: 'after' }, 'r-udp')])
    const records = await rs.waitFor(before + 4)
    expect(
      ['r-before', 'r-tcp', 'r-tls', 'r-udp'].map((id) => byMsgid(records, id).input),
    ).to.deep.equal(['tcp', 'tcp', 'tls', 'udp'])
  })
})

describe('rsyslog test harness with an untrusted certificate', function () {
  let rs: Rsyslog

  before(async function () {
    this.timeout(240_000)
    await ensureRsyslog()
    rs = await startRsyslog({ untrustedCert: true })
  })
  after(async () => {
    await rs?.close()
  })

  it('makes a client that trusts caFile refuse the server', async () => {
    expect(rs.caFile).to.not.equal(rs.serverCertFile)
    const data = octetCounted([
      line(
        { name: 'x', pri: 14, facility: 'user', severity: 'info', msg: 'must not arrive' },
        'untrusted',
      ),
    ])
    const err = await sendTls(rs.tlsPort, rs.caFile, data).then(
      () => undefined,
      (e: NodeJS.ErrnoException) => e,
    )
    expect(err?.code).to.equal('DEPTH_ZERO_SELF_SIGNED_CERT')
    // The refusal is about trust, not a broken server: trusting the real certificate works.
    expect((await sendTls(rs.tlsPort, rs.serverCertFile, octetCounted([]))).authorized).to.equal(
      true,
    )
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(rs.records()).to.have.length(0)
  })

  it('leaves nothing listening after close()', async () => {
    await rs.close()
    expect(await refusesConnections(rs.tcpPort)).to.equal(true)
    expect(await refusesConnections(rs.tlsPort)).to.equal(true)
  })
})
