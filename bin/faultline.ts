#!/usr/bin/env node
/**
 * The faultline command.
 *
 *   faultline test-mail [--to ADDRESS]… [--url SMTP_URL] [--from ADDRESS] [--ca PEM_FILE]
 *   faultline doctor [--module PATH [--export NAME]]
 *
 * Sends one test mail with the configured settings (FAULTLINE_MAIL, and
 * FAULTLINE_MANAGERS as a comma-separated list of recipients) and says
 * exactly what went wrong if it cannot. `doctor` prints what the app would
 * do with its options and this environment: each destination on or off and
 * why, where it goes, the store and debug mode.
 */
import { hostname } from 'node:os'
import { parseArgs } from 'node:util'
import nodemailer from 'nodemailer'
import { describeMailError } from '../transports/mail/errors.js'
import { resolveMailOptions } from '../transports/mail/options.js'
import { readEnvironment } from '../lib/config/environment.js'
import { doctor, DOCTOR_USAGE } from './doctor.js'

const USAGE =
  'usage: faultline test-mail [--to ADDRESS]... [--url smtp://user:pass@host:587] [--from ADDRESS] [--ca PEM_FILE]'

async function testMail(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      to: { type: 'string', multiple: true },
      url: { type: 'string' },
      from: { type: 'string' },
      ca: { type: 'string' },
    },
  })
  // the library's own reading of FAULTLINE_*: what is tested here is what the app will use
  const env = readEnvironment(process.env).options
  const url = values.url ?? (typeof env.mail === 'string' ? env.mail : undefined)
  if (!url) {
    process.stderr.write(
      `faultline test-mail: no mail server configured: set FAULTLINE_MAIL (smtp://user:pass@host:587) or pass --url\n${USAGE}\n`,
    )
    return 2
  }
  const to = values.to ?? env.managers ?? []
  const settings = resolveMailOptions(
    {
      url,
      ...(values.from ? { from: values.from } : {}),
      ...(values.ca ? { tls: { ca: values.ca } } : {}),
    },
    { managers: to, appName: env.appName ?? 'faultline' },
  )
  if (!settings.smtp) throw new Error('test-mail needs an SMTP server, not an outbox')
  const transporter = nodemailer.createTransport(settings.smtp)
  try {
    const info = await transporter.sendMail({
      from: settings.from,
      to: settings.to,
      subject: `[faultline] test mail from ${hostname()}`,
      text: `This is a test mail sent by "faultline test-mail" from ${hostname()} (pid ${process.pid}) at ${new Date().toISOString()}.\nIf you read this, error mails will reach you too.\n`,
      headers: { 'Auto-Submitted': 'auto-generated' },
    })
    process.stdout.write(
      `faultline test-mail: sent to ${settings.to.join(', ')} through ${settings.target} (${info.response})\n`,
    )
    return 0
  } catch (err) {
    process.stderr.write(
      `faultline test-mail: could not send to ${settings.to.join(', ')}: ${describeMailError(err, settings.target)}\n`,
    )
    return 1
  } finally {
    transporter.close()
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command === 'test-mail') return testMail(rest)
  if (command === 'doctor') return doctor(rest)
  process.stderr.write(`${USAGE}\n${DOCTOR_USAGE}\n`)
  return command === undefined || command === '--help' ? 0 : 2
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    process.stderr.write(`faultline: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exitCode = 2
  },
)
