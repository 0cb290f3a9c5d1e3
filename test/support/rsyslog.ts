import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { aptInstall, outputTail, runCommand } from './apt.js'
import { getFreePort } from './ports.js'

/** One message as rsyslog parsed it, read back from the instance's JSON-lines output file. */
export interface SyslogRecord {
  /** Which listener received it (the rsyslog inputs are named after these). */
  input: 'udp' | 'tcp' | 'tls' | 'relp' | 'relptls'
  pri: number
  facility: string
  severity: string
  protocolVersion: string
  /** `timereported` in RFC 3339 form. */
  timestamp: string
  hostname: string
  appName: string
  procid: string
  msgid: string
  /** As rsyslog gives it, e.g. `[faultline@32473 id="…" status="500"]`, or `-` when there is none. */
  structuredData: string
  /** The MSG part as received: control characters are not escaped (escapeControlCharactersOnReceive is off). */
  msg: string
  rawmsg: string
}

/**
 * A private rsyslogd listening on 127.0.0.1 with UDP, plain TCP and TLS (gtls, anonymous client auth) inputs.
 * Always call `close()` (e.g. in an `after` hook): the child process keeps mocha alive until then.
 */
export interface Rsyslog {
  udpPort: number
  tcpPort: number
  tlsPort: number
  /** imrelp (RELP, rsyslog-relp): a message is acknowledged only once rsyslog has taken it. */
  relpPort: number
  /** imrelp with TLS: the client must present a certificate signed by `caFile`'s issuer (`serverCertFile` + `serverKeyFile` will do). */
  relpTlsPort: number
  /**
   * The PEM file a TLS client should trust. Normally the server's own self-signed certificate
   * (CN=localhost, SAN DNS:localhost, IP:127.0.0.1); with `untrustedCert` an unrelated self-signed
   * certificate, so that a verifying client must refuse the server.
   */
  caFile: string
  /** The certificate the server really presents, whatever `untrustedCert` says. */
  serverCertFile: string
  /** Its private key (usable as a RELP client's certificate too). */
  serverKeyFile: string
  /** Everything received so far; the output file is parsed fresh on each call (an unfinished last line is skipped). */
  records(): SyslogRecord[]
  /** Polls until at least `count` records exist (default timeout 5000 ms), then returns all of them. */
  waitFor(count: number, timeoutMs?: number): Promise<SyslogRecord[]>
  /** SIGTERM the rsyslogd child by PID and wait until it has exited (SIGKILL after 5 s). */
  stop(): Promise<void>
  /** Starts rsyslogd again on the same ports and output file, so records keep accumulating. */
  start(): Promise<void>
  /** Stops the daemon and removes its state directory. */
  close(): Promise<void>
}

const PACKAGES = 'apt-get install rsyslog rsyslog-gnutls rsyslog-relp'
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
const run = runCommand

// rsyslogd lives in /usr/sbin, which a non-login PATH may lack.
function findRsyslogd(): string | undefined {
  const dirs = [
    ...(process.env.PATH ?? '').split(delimiter),
    '/usr/sbin',
    '/sbin',
    '/usr/local/sbin',
  ]
  return dirs.map((d) => join(d, 'rsyslogd')).find((p) => p.startsWith('/') && existsSync(p))
}

// The gtls netstream driver (rsyslog-gnutls) and the RELP input (rsyslog-relp) are separate packages; without them
// rsyslogd starts and fails only when the input is used.
function hasModules(): boolean {
  const multiarch = existsSync('/usr/lib')
    ? readdirSync('/usr/lib').map((e) => join('/usr/lib', e, 'rsyslog'))
    : []
  const dirs = ['/usr/lib/rsyslog', '/usr/lib64/rsyslog', ...multiarch]
  return ['lmnsd_gtls.so', 'imrelp.so'].every((m) => dirs.some((d) => existsSync(join(d, m))))
}

let installing: Promise<void> | undefined

/**
 * Makes sure `rsyslogd` and the gtls driver exist, installing rsyslog + rsyslog-gnutls with apt-get
 * (retrying for up to 3 minutes while another process holds the apt/dpkg lock; one `apt-get update` if the package is unknown).
 * Throws an Error naming `apt-get install rsyslog rsyslog-gnutls` and the reason when that fails.
 */
export function ensureRsyslog(): Promise<void> {
  if (findRsyslogd() && hasModules()) return Promise.resolve()
  // Concurrent callers share one apt-get run; a failure is not cached so a later call can retry.
  installing ??= (async () => {
    const res = await aptInstall(
      ['rsyslog', 'rsyslog-gnutls', 'rsyslog-relp'],
      Date.now() + 180_000,
    )
    if (!findRsyslogd() || !hasModules()) {
      const reason = res.ok
        ? 'apt-get succeeded but rsyslogd, lmnsd_gtls.so or imrelp.so is still missing'
        : outputTail(res)
      throw new Error(
        `rsyslog tests need rsyslogd with TLS and RELP support (${PACKAGES}): ${reason}`,
      )
    }
  })().finally(() => {
    installing = undefined
  })
  return installing
}

function makeCert(dir: string, name: string): Promise<string> {
  const cert = join(dir, `${name}-cert.pem`)
  const args = [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    join(dir, `${name}-key.pem`),
    '-out',
    cert,
    '-days',
    '2',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ]
  return run('openssl', args, 30_000).then(({ ok, output }) => {
    if (!ok)
      throw new Error(
        `making a test certificate with openssl failed (apt-get install openssl): ${output.trim()}`,
      )
    return cert
  })
}

// Order and names of the JSON fields the template writes; the record mapping below relies on them.
const FIELDS: Array<[string, string, string?]> = [
  ['input', 'inputname'],
  ['pri', 'pri'],
  ['facility', 'syslogfacility-text'],
  ['severity', 'syslogseverity-text'],
  ['protocolVersion', 'protocol-version'],
  ['timestamp', 'timereported', ' dateFormat="rfc3339"'],
  ['hostname', 'hostname'],
  ['appName', 'app-name'],
  ['procid', 'procid'],
  ['msgid', 'msgid'],
  ['structuredData', 'structured-data'],
  ['msg', 'msg'],
  ['rawmsg', 'rawmsg'],
]

interface Ports {
  udp: number
  tcp: number
  tls: number
  relp: number
  relpTls: number
}

// maxMessageSize: the 8k default truncates. escapeControlCharactersOnReceive / dropTrailingLFOnReception off:
// the defaults turn "\n" into "#012" and drop one trailing LF, hiding what the client really sent.
// inputs.timeout.shutdown: an idle input thread otherwise holds up every SIGTERM for the 1 s default.
function config(dir: string, ports: Ports, out: string): string {
  const props = FIELDS.map(
    ([key, name, extra = '']) =>
      `  property(outname="${key}" name="${name}"${extra} format="jsonf")`,
  ).join('\n  constant(value=",")\n')
  return `global(workDirectory="${dir}/work"
  maxMessageSize="256k"
  parser.escapeControlCharactersOnReceive="off"
  parser.dropTrailingLFOnReception="off"
  inputs.timeout.shutdown="250"
  defaultNetstreamDriverCAFile="${dir}/server-cert.pem"
  defaultNetstreamDriverCertFile="${dir}/server-cert.pem"
  defaultNetstreamDriverKeyFile="${dir}/server-key.pem")
module(load="imudp")
module(load="imtcp")
module(load="imrelp")
input(type="imudp" name="udp" address="127.0.0.1" port="${ports.udp}" ruleset="capture")
input(type="imtcp" name="tcp" address="127.0.0.1" port="${ports.tcp}" ruleset="capture")
input(type="imtcp" name="tls" address="127.0.0.1" port="${ports.tls}" ruleset="capture"
  streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
input(type="imrelp" name="relp" address="127.0.0.1" port="${ports.relp}" ruleset="capture" maxDataSize="256k")
input(type="imrelp" name="relptls" address="127.0.0.1" port="${ports.relpTls}" ruleset="capture" maxDataSize="256k"
  tls="on" tls.authMode="certvalid" tls.caCert="${dir}/server-cert.pem" tls.myCert="${dir}/server-cert.pem"
  tls.myPrivKey="${dir}/server-key.pem")
template(name="jsonl" type="list") {
  constant(value="{")
${props}
  constant(value="}\\n")
}
ruleset(name="capture") {
  action(type="omfile" file="${out}" template="jsonl" flushOnTXEnd="on" asyncWriting="off")
}
`
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port })
    sock.once('connect', () => (sock.destroy(), resolve(true)))
    sock.once('error', () => resolve(false))
  })
}

function toRecord(line: string): SyslogRecord {
  const r = JSON.parse(line) as Record<string, string>
  const input = r.input
  if (
    input !== 'udp' &&
    input !== 'tcp' &&
    input !== 'tls' &&
    input !== 'relp' &&
    input !== 'relptls'
  )
    throw new Error(`rsyslog record from unknown input ${input}: ${line}`)
  const s = (k: string) => r[k] ?? ''
  return {
    input,
    pri: Number(r.pri),
    facility: s('facility'),
    severity: s('severity'),
    protocolVersion: s('protocolVersion'),
    timestamp: s('timestamp'),
    hostname: s('hostname'),
    appName: s('appName'),
    procid: s('procid'),
    msgid: s('msgid'),
    structuredData: s('structuredData'),
    msg: s('msg'),
    rawmsg: s('rawmsg'),
  }
}

/**
 * Starts a private rsyslogd (own config and work dir under a mkdtemp state dir; no /dev/log, no klog).
 * Resolves once the TCP and TLS ports accept connections: the UDP socket is bound before the TCP
 * listeners come up, so no UDP probe is sent (it would show up as a record).
 * `untrustedCert: true` makes `caFile` an unrelated self-signed certificate (see {@link Rsyslog.caFile}).
 */
export async function startRsyslog(options: { untrustedCert?: boolean } = {}): Promise<Rsyslog> {
  await ensureRsyslog()
  const rsyslogd = findRsyslogd() as string
  const dir = await mkdtemp(join(tmpdir(), 'faultline-rsyslog-'))
  if (/["\\]/.test(dir)) throw new Error(`state dir ${dir} cannot be quoted in rsyslog's config`)
  await mkdir(join(dir, 'work'))
  const serverCertFile = await makeCert(dir, 'server')
  const caFile = options.untrustedCert ? await makeCert(dir, 'other') : serverCertFile
  const udp = await getFreePort('udp')
  const tcp = await getFreePort('tcp')
  const tls = await getFreePort('tcp', [tcp])
  const relp = await getFreePort('tcp', [tcp, tls])
  const ports: Ports = { udp, tcp, tls, relp, relpTls: await getFreePort('tcp', [tcp, tls, relp]) }
  const out = join(dir, 'received.jsonl')
  const conf = join(dir, 'rsyslog.conf')
  const logFile = join(dir, 'rsyslogd.log')
  await writeFile(conf, config(dir, ports, out))

  let child: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()

  const logTail = () =>
    existsSync(logFile)
      ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join(' | ')
      : ''
  async function start(): Promise<void> {
    if (child) return
    const fd = openSync(logFile, 'a')
    // setpriv execs rsyslogd (same PID) with a parent-death signal, so even a crashed test run leaves no daemon behind.
    const argv = [rsyslogd, '-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid')]
    const cmd = existsSync('/usr/bin/setpriv')
      ? ['/usr/bin/setpriv', '--pdeathsig', 'TERM', ...argv]
      : argv
    const proc = spawn(cmd[0] as string, cmd.slice(1), { cwd: dir, stdio: ['ignore', fd, fd] })
    closeSync(fd)
    child = proc
    let gone = false
    exited = new Promise<void>((resolve) => proc.once('exit', resolve).once('error', resolve)).then(
      () => void (gone = true),
    )
    const deadline = Date.now() + 10_000
    while (!gone && Date.now() < deadline) {
      if (
        (await canConnect(ports.tcp)) &&
        (await canConnect(ports.tls)) &&
        (await canConnect(ports.relp)) &&
        (await canConnect(ports.relpTls))
      )
        return
      await sleep(25)
    }
    const why = gone ? 'rsyslogd exited' : 'ports not accepting after 10 s'
    await stop()
    throw new Error(`rsyslogd did not come up (${why}): ${logTail()}`)
  }

  async function stop(): Promise<void> {
    const proc = child
    if (!proc) return
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM')
    let timer: NodeJS.Timeout | undefined
    const timedOut = await Promise.race([
      exited.then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(r, 5000, true))),
    ])
    clearTimeout(timer)
    if (timedOut) {
      proc.kill('SIGKILL')
      await exited
    }
    child = undefined
  }

  function records(): SyslogRecord[] {
    if (!existsSync(out)) return []
    const text = readFileSync(out, 'utf8')
    // omfile may be mid-write on a large record: only newline-terminated lines are complete.
    return text
      .slice(0, text.lastIndexOf('\n') + 1)
      .split('\n')
      .filter(Boolean)
      .map(toRecord)
  }

  async function waitFor(count: number, timeoutMs = 5000): Promise<SyslogRecord[]> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const got = records()
      if (got.length >= count) return got
      if (Date.now() >= deadline)
        throw new Error(
          `rsyslog: waited ${timeoutMs} ms for ${count} records, got ${got.length}; log: ${logTail()}`,
        )
      await sleep(20)
    }
  }

  try {
    await start()
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    throw err
  }
  return {
    udpPort: ports.udp,
    tcpPort: ports.tcp,
    tlsPort: ports.tls,
    relpPort: ports.relp,
    relpTlsPort: ports.relpTls,
    caFile,
    serverCertFile,
    serverKeyFile: join(dir, 'server-key.pem'),
    records,
    waitFor,
    stop,
    start,
    async close() {
      await stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/**
 * A private rsyslogd for a describe block: started (installed first if need be) before its tests,
 * stopped after them; the getter reads it in a test.
 */
export function rsyslogForSuite(): () => Rsyslog {
  let rsyslog: Rsyslog | undefined
  before(async function () {
    this.timeout(180_000)
    rsyslog = await startRsyslog()
  })
  after(() => rsyslog?.close())
  return () => rsyslog!
}
