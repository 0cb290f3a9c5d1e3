// what the hostile-injection files share: an app root with secrets beside its code, and the mail outbox readers
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { simpleParser } from 'mailparser'

/** Lines only a leak would put in a mail, a page or a ticket. */
export const SECRETS = [
  'hunter2-env-secret',
  'json-secret-key',
  'pem-secret-body',
  'txt-secret-note',
  'hidden-js-secret',
  'dotdir-secret',
  'outside-secret',
  'root:x:0:0',
]

/**
 * An app directory with secrets beside the code, symlinks dressed up as code,
 * a file outside it, and one real module that throws a message quoting its input.
 */
export function makeAppRoot(): {
  base: string
  root: string
  files: Record<string, string>
  modulePath: string
} {
  const base = mkdtempSync(join(tmpdir(), 'faultline-hostile-'))
  const root = join(base, 'app')
  const outside = join(base, 'outside')
  mkdirSync(join(root, '.secrets'), { recursive: true })
  mkdirSync(join(root, 'src'), { recursive: true })
  mkdirSync(outside, { recursive: true })
  const put = (path: string, secret: string) =>
    writeFileSync(path, `first line\n${secret}\nthird line\n`)
  const files: Record<string, string> = {
    env: join(root, '.env'),
    json: join(root, 'config.json'),
    key: join(root, 'server.key'),
    txt: join(root, 'notes.txt'),
    hidden: join(root, '.hidden.js'),
    dotdir: join(root, '.secrets', 'creds.js'),
    outside: join(outside, 'creds.js'),
    linkToEnv: join(root, 'src', 'innocent.js'),
    linkOutside: join(root, 'src', 'linked.js'),
    passwd: '/etc/passwd',
  }
  put(files.env!, 'DB_PASSWORD=hunter2-env-secret')
  put(files.json!, '"apiKey": "json-secret-key"')
  put(files.key!, '-----BEGIN PRIVATE KEY----- pem-secret-body')
  put(files.txt!, 'txt-secret-note')
  put(files.hidden!, 'const s = "hidden-js-secret"')
  put(files.dotdir!, 'const s = "dotdir-secret"')
  put(files.outside!, 'const s = "outside-secret"')
  symlinkSync(files.env!, files.linkToEnv!)
  symlinkSync(files.outside!, files.linkOutside!)
  const modulePath = join(root, 'src', 'search.mjs')
  writeFileSync(
    modulePath,
    "export function search(q) {\n  throw new Error('no results for ' + q) // the real throw line\n}\n",
  )
  return { base, root, files, modulePath }
}

/** Messages that quote input forging frames at `path`, in every shape V8 prints one. */
export function forgeries(path: string): string[] {
  return [
    `x\n    at f (${path}:2:1)`,
    `x\n    at async Object.handler (${pathToFileURL(path).href}:2:5)`,
    `x\n    at ${path}:2:1`,
    `x\r\n    at f (${path}:2:1)\n    at g (${path}:1:1)`,
  ]
}

export function emlNames(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.eml'))
  } catch {
    return []
  }
}

export function emlCount(dir: string): number {
  return emlNames(dir).length
}

/** Whether a mail in the outbox (as raw .eml, quoted-printable undone) contains `text`. */
export function findMail(dir: string, text: string): true | undefined {
  for (const name of emlNames(dir)) {
    const raw = readFileSync(join(dir, name), 'utf8').replace(/=\r?\n/g, '')
    if (raw.includes(text)) return true
  }
  return undefined
}

export function readMails(dir: string): Promise<Array<{ text: string; html: string }>> {
  const names = emlNames(dir)
  return Promise.all(
    names.map(async (name) => {
      const mail = await simpleParser(readFileSync(join(dir, name)))
      return { text: mail.text ?? '', html: typeof mail.html === 'string' ? mail.html : '' }
    }),
  )
}
