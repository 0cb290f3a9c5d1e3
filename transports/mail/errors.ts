/** What nodemailer's errors carry, read by shape. */
interface MailError {
  code?: string
  message?: string
  responseCode?: number
  response?: string
  command?: string
}

/**
 * Says in plain words what went wrong with a mail server, and what to check:
 * the difference between "wrong password" and "nothing listens there" is
 * what an operator needs at 3 a.m.
 *
 * @example
 * ```ts
 * describeMailError(err, 'smtp://mail.example.org:587')
 * // 'mail.example.org:587 refused the user name or password (535 Authentication failed): check the credentials in the mail setting'
 * ```
 */
export function describeMailError(err: unknown, target: string): string {
  const e = (err ?? {}) as MailError
  const message = String(e.message ?? err)
  const where = target.replace(/^smtps?:\/\//, '')
  if (e.code === 'ESENDDEADLINE')
    return `${where} kept the connection busy past the send deadline (${message}): the server is stalling or overloaded; raise mail.timeouts.sendMs only for a slow but working server`
  if (e.code === 'EAUTH')
    return `${where} refused the user name or password (${e.response ?? message}): check the credentials in the mail setting`
  if (/ECONNREFUSED/.test(message))
    return `nothing answers at ${where} (connection refused): is the SMTP server running, and is the port right?`
  if (/ENOTFOUND|EAI_AGAIN/.test(message))
    return `the mail host of ${where} cannot be resolved (${message}): check the host name`
  if (/certificate|self.signed|unable to verify|altnames/i.test(message)) {
    return `the TLS certificate of ${where} is not trusted (${message}): give its CA with mail.tls.ca (or ?ca=/path/to/ca.pem in the URL), or fix the host name`
  }
  if (e.code === 'ETIMEDOUT' || /timeout|Greeting never received/i.test(message)) {
    return `${where} accepted the connection but did not answer in time (${message}): is it an SMTP server, and is it overloaded?`
  }
  if (/STARTTLS/i.test(message))
    return `${where} does not offer STARTTLS, which faultline requires by default (${message}): use a server with TLS, or set requireTLS: false if the network is trusted`
  if (e.code === 'EENVELOPE')
    return `${where} refused the sender or a recipient (${e.response ?? message}): check mail.from and the managers' addresses`
  if (e.code === 'EMESSAGE' || (e.responseCode !== undefined && e.responseCode >= 500))
    return `${where} refused the message (${e.response ?? message})`
  return `${where}: ${message}`
}
