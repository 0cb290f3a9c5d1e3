import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { connect as connectTls } from 'node:tls'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { aptInstall, outputTail } from './apt.js'
import { getFreePort } from './ports.js'
import { getTestCertificate } from './smtp.js'

const SERVER = '/usr/bin/redis-server'
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Installs Debian's redis-server when it is missing; fails naming the package when that is impossible. */
export async function ensureRedisServer(): Promise<string> {
  if (existsSync(SERVER)) return SERVER
  const result = await aptInstall(['redis-server'], Date.now() + 180_000)
  if (!existsSync(SERVER))
    throw new Error(
      `the Redis tests need Debian's redis-server package (apt-get install redis-server); installing it failed: ${outputTail(result)}`,
    )
  return SERVER
}

/** A private redis-server on 127.0.0.1, persisting nothing, stopped by its PID. */
export interface RedisServer {
  port: number
  url: string
  pid(): number
  /** Kills it (SIGKILL): every connection drops, and what it held is gone. */
  kill(): Promise<void>
  /** Starts it again on the same port (empty). */
  restart(): Promise<void>
  /** SIGSTOP: it keeps its connections but answers nothing. */
  freeze(): void
  thaw(): void
  /** Whether the server process is alive (not killed, or started again since). */
  running(): boolean
  stop(): Promise<void>
}

function answersPing(port: number, tls: boolean): Promise<boolean> {
  return new Promise((resolve) => {
    // readiness only: the certificate is the test's own, checked by the client under test
    const socket = tls
      ? connectTls({ port, host: '127.0.0.1', rejectUnauthorized: false })
      : connect(port, '127.0.0.1')
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    // every error, not the first only: a reset after a timeout must not reach the test runner as uncaught
    socket.on('error', () => done(false))
    socket.once(tls ? 'secureConnect' : 'connect', () => socket.write('PING\r\n'))
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')))
  })
}

async function launch(
  binary: string,
  port: number,
  dir: string,
  tls: boolean,
): Promise<ChildProcess> {
  const { certFile } = tls ? getTestCertificate() : { certFile: '' }
  const listen = tls
    ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', certFile]
    : ['--port', String(port)]
  const keys = tls
    ? ['--tls-key-file', join(certFile, '..', 'key.pem'), '--tls-auth-clients', 'no']
    : []
  const child = spawn(
    binary,
    [
      ...listen,
      ...keys,
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--daemonize',
      'no',
      '--loglevel',
      'warning',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  let errors = ''
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (errors += chunk))
  const deadline = Date.now() + 10_000
  while (!(await answersPing(port, tls))) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`redis-server did not start on 127.0.0.1:${port}: ${errors.slice(-400)}`)
    await sleep(50)
  }
  return child
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

/**
 * Starts a private redis-server (installing Debian's package first when it is missing); with `tls`, it
 * listens only for TLS, with the tests' self-signed certificate for 127.0.0.1.
 */
export async function startRedis(options: { tls?: boolean } = {}): Promise<RedisServer> {
  const tls = options.tls ?? false
  const binary = await ensureRedisServer()
  const port = await getFreePort()
  const dir = mkdtempSync(join(tmpdir(), 'faultline-redis-'))
  let child = await launch(binary, port, dir, tls)
  // a test run that ends without stop() (a failed before-hook, Ctrl-C) leaves no server behind
  const reap = () => {
    child.kill('SIGCONT')
    child.kill('SIGKILL')
  }
  process.once('exit', reap)
  const kill = async () => {
    child.kill('SIGCONT')
    child.kill('SIGKILL')
    await waitExit(child)
  }
  return {
    port,
    url: `${tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`,
    pid: () => child.pid!,
    kill,
    async restart() {
      await kill()
      child = await launch(binary, port, dir, tls)
    },
    freeze: () => void child.kill('SIGSTOP'),
    thaw: () => void child.kill('SIGCONT'),
    running: () => child.exitCode === null && child.signalCode === null,
    async stop() {
      process.off('exit', reap)
      await kill()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
