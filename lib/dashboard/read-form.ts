import type { Request } from 'express'

const MAX_FORM_BYTES = 8 * 1024

/**
 * The fields of a POSTed form: from `req.body` when the app parsed it
 * already, else read here (at most 8 KiB, urlencoded only), so the view
 * needs no body parser in front of it. Never rejects: a bad body is no fields.
 */
export function readForm(req: Request): Promise<Record<string, unknown>> {
  const parsed = (req as { body?: unknown }).body
  if (parsed && typeof parsed === 'object' && Object.keys(parsed).length > 0)
    return Promise.resolve(parsed as Record<string, unknown>)
  const type = String(req.headers['content-type'] ?? '')
  if (!type.startsWith('application/x-www-form-urlencoded') || req.readableEnded)
    return Promise.resolve({})
  return new Promise((resolve) => {
    let body = ''
    let done = false
    const finish = (fields: Record<string, unknown>) => {
      if (done) return
      done = true
      req.removeListener('data', onData)
      resolve(fields)
    }
    const onData = (chunk: Buffer) => {
      body += chunk.toString('utf8')
      if (body.length > MAX_FORM_BYTES) {
        // too big for a form of ours: stop listening, let the rest drain
        finish({})
        req.resume()
      }
    }
    req.on('data', onData)
    req.once('end', () => finish(Object.fromEntries(new URLSearchParams(body))))
    req.once('error', () => finish({}))
    req.once('close', () => finish({}))
  })
}
