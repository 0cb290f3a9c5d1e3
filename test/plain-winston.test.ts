import { expect } from 'chai'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import winston from 'winston'
import type TransportStream from 'winston-transport'
import {
  createFileTransport,
  LocalTicketAdapter,
  MailTransport,
  StderrTransport,
  TicketTransport,
} from '../lib/index.js'
import { getTestCertificate, startSmtpServer } from './support/smtp.js'
import { waitUntil } from './helpers.js'

/** `logger.error('database is down', { orderId: 7 })` on a plain winston logger with only `transport`, then closed. */
async function logThrough(
  transport: TransportStream,
  format?: winston.Logform.Format,
): Promise<void> {
  const logger = winston.createLogger({ transports: [transport], ...(format ? { format } : {}) })
  logger.error('database is down', { orderId: 7 })
  await new Promise((resolve) => setTimeout(resolve, 30))
  await (transport as { flush?: () => Promise<void> }).flush?.()
}

describe('faultline’s transports on a plain winston logger', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'faultline-plain-'))
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('should write the logger’s own format to stderr', async () => {
    const stream = new PassThrough()
    let text = ''
    stream.on('data', (chunk) => (text += String(chunk)))
    await logThrough(new StderrTransport({ stream }), winston.format.simple())
    expect(text).to.equal('error: database is down {"orderId":7}\n')
  })

  it('should keep the fields on stderr when the logger has no format of its own to write', async () => {
    const stream = new PassThrough()
    let text = ''
    stream.on('data', (chunk) => (text += String(chunk)))
    const transport = new StderrTransport({ stream })
    transport.log({ level: 'error', message: 'database is down', orderId: 7 }, () => {})
    transport.flushSync()
    expect(text).to.match(/ ERROR database is down \{"orderId":7\}\n$/)
  })

  it('should write the record with its fields to the file', async () => {
    const filename = join(dir, 'app.log')
    const transport = createFileTransport({ filename })
    await logThrough(transport)
    transport.close?.()
    const line = JSON.parse(readFileSync(filename, 'utf8').trim()) as Record<string, unknown>
    expect(line).to.include({ level: 'error', message: 'database is down', orderId: 7 })
  })

  it('should mail a plain error record as a hand-written error, with its fields', async () => {
    const server = await startSmtpServer()
    const transport = new MailTransport({
      url: server.url,
      tls: { ca: getTestCertificate().certFile },
      managers: ['ops@example.org'],
      appName: 'shop',
    })
    try {
      await logThrough(transport)
      const mail = await waitUntil(() => server.received[0], 10_000, 'the mail')
      expect(mail.mail.subject).to.include('database is down')
      expect(mail.mail.text).to.include('"orderId":7')
    } finally {
      await (transport as { close: (ms?: number) => Promise<void> | void }).close()
      await server.close()
    }
  })

  it('should ticket a plain error record when errors are ticketed', async () => {
    const adapter = new LocalTicketAdapter(join(dir, 'tickets'))
    const transport = new TicketTransport({ adapter, level: 'error' })
    await logThrough(transport)
    const tickets = await waitUntil(
      () =>
        readdirSync(join(dir, 'tickets')).length ? readdirSync(join(dir, 'tickets')) : undefined,
      10_000,
      'a ticket',
    )
    expect(readFileSync(join(dir, 'tickets', tickets[0]!), 'utf8')).to.include('database is down')
    await transport.close()
  })
})
