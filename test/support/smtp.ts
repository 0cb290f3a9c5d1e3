import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { simpleParser, type ParsedMail } from 'mailparser'
import { SMTPServer } from 'smtp-server'

/** A self-signed certificate for localhost and 127.0.0.1, made once per machine with openssl. */
export function getTestCertificate(): { key: string; cert: string; certFile: string } {
  const dir = join(tmpdir(), 'faultline-test-cert')
  const keyFile = join(dir, 'key.pem')
  const certFile = join(dir, 'cert.pem')
  if (!existsSync(certFile)) {
    mkdirSync(dir, { recursive: true })
    const make = () =>
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          keyFile,
          '-out',
          certFile,
          '-days',
          '30',
          '-subj',
          '/CN=localhost',
          '-addext',
          'subjectAltName=DNS:localhost,IP:127.0.0.1',
        ],
        { stdio: 'pipe' },
      )
    try {
      make()
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new Error(`openssl could not make the test certificate: ${(err as Error).message}`, {
          cause: err,
        })
      // a machine without openssl gets Debian's, as the other components do
      try {
        execFileSync(
          'apt-get',
          ['-o', 'DPkg::Lock::Timeout=300', 'install', '-y', '--no-install-recommends', 'openssl'],
          { stdio: 'pipe', timeout: 300_000 },
        )
        make()
      } catch (installErr) {
        throw new Error(
          `the tests make a self-signed certificate with openssl, which is missing and could not be installed (apt-get install openssl): ${(installErr as Error).message}`,
          { cause: installErr },
        )
      }
    }
  }
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8'), certFile }
}

/** A message the server accepted: its envelope and the parsed mail. */
export interface Received {
  envelope: { from: string; to: string[] }
  user: string | undefined
  secure: boolean
  mail: ParsedMail
  raw: string
}

/** A real SMTP server on loopback: AUTH PLAIN/LOGIN over STARTTLS only, with a certificate the test trusts. */
export interface TestSmtpServer {
  port: number
  url: string
  received: Received[]
  close(): Promise<void>
}

export async function startSmtpServer(
  options: { user?: string; pass?: string; port?: number; received?: Received[] } = {},
): Promise<TestSmtpServer> {
  const { key, cert } = getTestCertificate()
  const user = options.user ?? 'faultline'
  const pass = options.pass ?? 'right-password'
  // a restarted server may keep counting into the list of the one before
  const received: Received[] = options.received ?? []
  const server = new SMTPServer({
    secure: false,
    key,
    cert,
    authMethods: ['PLAIN', 'LOGIN'],
    allowInsecureAuth: false,
    closeTimeout: 200,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === user && auth.password === pass) return callback(null, { user })
      callback(new Error('Authentication failed'))
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (c: Buffer) => chunks.push(c))
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8')
        simpleParser(raw).then((mail) => {
          received.push({
            envelope: {
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((r) => r.address),
            },
            user: session.user as string | undefined,
            secure: session.secure,
            mail,
            raw,
          })
          callback()
        }, callback)
      })
    },
  })
  const port = await new Promise<number>((resolve, reject) => {
    server.on('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () =>
      resolve((server.server.address() as { port: number }).port),
    )
  })
  return {
    port,
    url: `smtp://${user}:${pass}@127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/** A server that accepts connections and never says a word: the worst kind of SMTP outage. */
export async function startSilentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => undefined)
  })
  const port = await new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  )
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

/** A stalling SMTP server in front of a good one: what it did, for the test to read. */
export interface TricklingServer {
  port: number
  /** Connections it stalled, and how many of them the client closed. */
  stalled: number
  closedByClient: number
  close(): Promise<void>
}

/**
 * The first `stall` connections get a greeting, then a reply to EHLO one byte
 * every `everyMs` (inside any socket timeout), for at most `maxBytes` bytes;
 * later connections are piped to `target`, a good server.
 */
export async function startTricklingServer(
  target: number,
  { stall = 1, everyMs = 50, maxBytes = 2000 } = {},
): Promise<TricklingServer> {
  const sockets = new Set<Socket>()
  const timers = new Set<NodeJS.Timeout>()
  const state = { stalled: 0, closedByClient: 0 }
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => undefined)
    if (state.stalled >= stall) {
      const upstream = connect(target, '127.0.0.1')
      upstream.on('error', () => socket.destroy())
      socket.on('close', () => upstream.destroy())
      upstream.on('close', () => socket.destroy())
      socket.pipe(upstream).pipe(socket)
      return
    }
    state.stalled++
    socket.write('220 trickle.test ESMTP\r\n')
    const reply = Buffer.from(`250-trickle.test${'.'.repeat(maxBytes)}\r\n250 OK\r\n`)
    let sent = 0
    socket.once('data', () => {
      const timer = setInterval(() => {
        if (sent >= maxBytes || socket.destroyed) return clearInterval(timer)
        socket.write(reply.subarray(sent, ++sent))
      }, everyMs)
      timers.add(timer)
    })
    socket.on('close', () => {
      sockets.delete(socket)
      if (sent < maxBytes) state.closedByClient++
    })
  })
  const port = await new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  )
  return {
    port,
    get stalled() {
      return state.stalled
    },
    get closedByClient() {
      return state.closedByClient
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearInterval(t)
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}
