import { expect } from 'chai'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { packPackage, ROOT, run } from '../support/packed-package.js'
import { startRedis } from '../support/redis.js'

// names in the README's inline code that are not faultline's own
const NOT_OURS = new Set([
  'TypeError',
  'AggregateError',
  'AsyncLocalStorage',
  'AsyncResource',
  'createError',
  'createClient',
  'createCluster',
  'createSentinel',
  'FaultlineWarning',
])

/** The README and its topic pages under docs/, as one text. */
function readDocs(): string {
  // architecture.md is for contributors: it names internals on purpose
  const pages = readdirSync(join(ROOT, 'docs')).filter(
    (f) => f.endsWith('.md') && f !== 'architecture.md',
  )
  return [join(ROOT, 'README.md'), ...pages.map((f) => join(ROOT, 'docs', f))]
    .map((file) => readFileSync(file, 'utf8'))
    .join('\n')
}

/** Every name the documentation says is importable: its inline-code identifiers that look like exports, and what its examples import. */
function readDocumentedNames(): { main: string[]; testing: string[] } {
  const readme = readDocs()
  const main = new Set<string>()
  const testing = new Set<string>()
  for (const [, span] of readme.matchAll(/`([^`\n]+)`/g)) {
    for (const [name] of span!.matchAll(
      /\b(?:create[A-Z]\w*|shouldThrow|THROW_ERRORS|[A-Z][a-z]+[A-Z]\w*)\b/g,
    )) {
      if (!NOT_OURS.has(name)) main.add(name)
    }
  }
  for (const [, names, from] of readme.matchAll(
    /import \{([^}]*)\} from '(faultline(?:\/testing)?)'/g,
  )) {
    for (const name of names!
      .split(',')
      .map((n) => n.replace(/^\s*type\s+/, '').trim())
      .filter(Boolean)) {
      ;(from === 'faultline' ? main : testing).add(name)
    }
  }
  // faultline/testing's names are documented in its own section; the rest come from faultline
  for (const name of testing) main.delete(name)
  return { main: [...main].sort(), testing: [...testing].sort() }
}

/** A reference to each name that fails to compile if it is not exported: a value for functions and constants, a type otherwise. */
function referenceEach(names: string[], namespace: string): string {
  return names
    .map((name) =>
      /^[a-z]|^[A-Z_]+$/.test(name)
        ? `void ${namespace}.${name}`
        : `export type Has${name} = ${namespace}.${name}`,
    )
    .join('\n')
}

const CONSUMER = `import express from 'express'
import { strict as assert } from 'node:assert'
import { mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  createFaultline, FaultlineConfigError, MailTransport, SuspiciousRequest, TicketError, shouldThrow, THROW_ERRORS,
  type Faultline, type MailOptions, type NewTicket, type Report, type TicketAdapter, type TicketRef,
} from 'faultline'
import { inject, Outbox } from 'faultline/testing'

class OrderLockedError extends Error {
  override readonly name = 'OrderLockedError'
}

// a custom tracker, as the README describes it: find returns what create filed
const filed = new Map<string, NewTicket & { ref: TicketRef; notes: string[] }>()
const tracker: TicketAdapter = {
  name: 'memory',
  async find(fingerprint: string): Promise<TicketRef | undefined> {
    return filed.get(fingerprint)?.ref
  },
  async create(ticket: NewTicket): Promise<TicketRef> {
    if (filed.size >= 5) throw new TicketError('tracker full', { permanent: true, status: 422 })
    const ref: TicketRef = { id: String(filed.size + 1), closed: false }
    filed.set(ticket.fingerprint, { ...ticket, ref, notes: [] })
    return ref
  },
  async comment(ref: TicketRef, text: string): Promise<void> {
    for (const ticket of filed.values()) if (ticket.ref.id === ref.id) ticket.notes.push(text)
  },
  async reopen(): Promise<void> {},
}

const outboxDir = mkdtempSync(join(tmpdir(), 'consumer-outbox-'))
const mailOptions: MailOptions = { outbox: outboxDir, to: ['ops@example.org'] }
const outbox = new Outbox()
const faultline: Faultline = createFaultline({
  appName: 'consumer', env: false, stderr: false, debug: false, throwErrors: false, spoolDir: false,
  tickets: { adapter: tracker },
  transports: [outbox, new MailTransport({ ...mailOptions, appName: 'consumer' })],
})
const reports: Report[] = []
faultline.on('report', (report) => reports.push(report))

// internals stay out of the public type
// @ts-expect-error: the request lifecycle is not part of Faultline
void faultline.finalize
// @ts-expect-error: nor is the crash path
void faultline.reportCrash

/** The field a bad option is refused for at start-up, as a JavaScript user would meet it. */
function refusedField(make: () => unknown): string {
  try {
    make()
  } catch (err) {
    if (err instanceof FaultlineConfigError) return err.field
  }
  return 'accepted'
}
const refused = [
  // @ts-expect-error: a mistyped mail option does not compile
  refusedField(() => createFaultline({ env: false, stderr: false, mail: { outbx: 'var/outbox' } })),
  // @ts-expect-error: nor a mistyped ticket option
  refusedField(() => createFaultline({ env: false, stderr: false, tickets: { adaptor: tracker } })),
  refusedField(() => createFaultline({ env: false, stderr: false, managers: 'ops' as never })),
]

const app = express()
app.use(faultline.requestHandler())
app.get('/ok', (req, res) => res.json({ throws: shouldThrow(req) }))
app.get('/probe', () => {
  throw new SuspiciousRequest('negative refund')
})
app.get('/boom', () => {
  throw new OrderLockedError('order 42 is locked')
})
app.use(faultline.errorHandler())

const ok = await inject(app, { url: '/ok', throwErrors: false })
assert.equal(ok.status, 200)
const warned = await inject(app, { url: '/probe', throwErrors: false })
assert.equal(warned.status, 400)
await inject(app, { url: '/boom' }).then(
  () => assert.fail('should reject'),
  (err: unknown) => assert.ok(err instanceof OrderLockedError),
)
const page = await inject(app, { url: '/boom', throwErrors: false })
assert.equal(page.status, 500)
await faultline.close({ timeoutMs: 3000 })
console.log(JSON.stringify({
  throwFlag: typeof THROW_ERRORS,
  kinds: reports.map((r) => r.kind),
  outboxMail: outbox.mail.length,
  outboxTickets: outbox.tickets.length,
  emlFiles: readdirSync(outboxDir).filter((f) => f.endsWith('.eml')).length,
  tickets: [...filed.values()].map((t) => ({ title: t.title, notes: t.notes.length })),
  refused,
}))
`

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noUncheckedIndexedAccess: true,
    noImplicitOverride: true,
    outDir: 'out',
    rootDir: 'src',
    types: ['node'],
  },
  include: ['src'],
}

describe('the published package', function () {
  this.timeout(240_000)
  let dir: string
  let tarball: string
  let files: string[]
  let compiled: { code: number; output: string }
  const documented = readDocumentedNames()

  before(async () => {
    ;({ dir, tarball, files } = await packPackage())
    const project = join(dir, 'consumer')
    mkdirSync(join(project, 'src'), { recursive: true })
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    )
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(TSCONFIG))
    writeFileSync(join(project, 'src', 'consumer.ts'), CONSUMER)
    writeFileSync(
      join(project, 'src', 'documented.ts'),
      `import * as faultline from 'faultline'\nimport * as testing from 'faultline/testing'\n${referenceEach(documented.main, 'faultline')}\n${referenceEach(documented.testing, 'testing')}\n`,
    )
    await run(
      'npm',
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--silent',
        tarball,
        'express',
        'typescript',
        '@types/express',
      ],
      { cwd: project },
    )
    compiled = await run(join(project, 'node_modules', '.bin', 'tsc'), ['-p', project], {
      cwd: project,
    }).then(
      (out) => ({ code: 0, output: out.stdout }),
      (err: { code: number; stdout: string }) => ({ code: err.code, output: err.stdout }),
    )
  })

  it('should ship compiled code with its declarations, and no source maps pointing at sources it does not ship', () => {
    expect(files).to.include.members([
      'package.json',
      'README.md',
      'dist/lib/index.js',
      'dist/lib/index.d.ts',
      'dist/lib/testing.js',
      'dist/lib/testing.d.ts',
    ])
    expect(files.filter((f) => f.endsWith('.map'))).to.deep.equal([])
    const code = files.filter((f) => f.endsWith('.js'))
    expect(code.filter((f) => !files.includes(f.replace(/\.js$/, '.d.ts')))).to.deep.equal([])
  })

  it('should ship nothing left over from an older build: every file has its source', () => {
    const orphans = files
      .filter((f) => f.startsWith('dist/') && /\.c?js$/.test(f))
      .map((f) => f.replace(/^dist\/(cjs\/)?/, '').replace(/\.(c?)js$/, '.$1ts'))
      .filter((source) => !existsSync(join(ROOT, source)))
    expect(orphans).to.deep.equal([])
  })

  it('should find in the README the names it documents, to check them against the package', () => {
    expect(documented.main).to.include.members([
      'createFaultline',
      'SuspiciousRequest',
      'FaultlineConfigError',
      'TicketAdapter',
      'TicketError',
      'MailTransport',
      'THROW_ERRORS',
      'shouldThrow',
    ])
    expect(documented.testing).to.include.members(['inject', 'Outbox'])
  })

  it('should compile, strict under NodeNext, a project that imports every documented name from faultline and faultline/testing only', () => {
    expect(compiled.output).to.equal('')
    expect(compiled.code).to.equal(0)
  })

  it('should run that project: a custom TicketAdapter, a MailTransport added through transports, inject and Outbox', async function () {
    if (compiled.code !== 0) this.skip()
    const out = await run(process.execPath, [join(dir, 'consumer', 'out', 'consumer.js')], {
      cwd: join(dir, 'consumer'),
      env: { ...process.env, NODE_ENV: 'production' },
    })
    expect(JSON.parse(out.stdout)).to.deep.equal({
      throwFlag: 'symbol',
      kinds: ['warning', 'traceback', 'traceback'],
      outboxMail: 2,
      outboxTickets: 2,
      // the first mail at once, the second occurrence in the digest sent at close
      emlFiles: 2,
      tickets: [{ title: 'OrderLockedError: order 42 is locked — GET /boom', notes: 1 }],
      refused: ['mail.outbx', 'tickets.adaptor', 'managers'],
    })
  })
  // redis is an optional peer: npm leaves it out, so an app that names a Redis server hears so at start-up
  const STORE_CHECK = `import { createFaultline } from 'faultline'
try {
  // close() waits the store's timeoutMs for what is on its way: a loaded machine may take longer
  // than the default second to load the client and connect, so the Redis run gives it more
  const store = process.argv[2] ? { url: process.argv[1], timeoutMs: Number(process.argv[2]) } : process.argv[1]
  const options = { env: false, stderr: false, store }
  // reported at once, before the client has even connected, and closed right after
  const faultline = createFaultline(options)
  faultline.capture(new Error('stored in the fleet'))
  const status = faultline.storeStatus()
  await faultline.close()
  const { total } = await createFaultline(options).issues()
  console.log(JSON.stringify({ status, total }))
} catch (err) {
  console.log(JSON.stringify({ name: err.name, field: err.field, message: err.message }))
}
process.exit(0)
`

  it('should refuse a Redis store at start-up, naming the package to install, when redis is not installed', async () => {
    const project = join(dir, 'consumer')
    expect(existsSync(join(project, 'node_modules', 'redis'))).to.equal(false)
    const out = await run(
      process.execPath,
      ['--input-type=module', '-e', STORE_CHECK, 'redis://127.0.0.1:6379'],
      { cwd: project },
    )
    expect(JSON.parse(out.stdout)).to.deep.equal({
      name: 'FaultlineConfigError',
      field: 'store',
      message:
        'faultline: option "store" names a Redis server, which needs the "redis" package (node-redis): npm install redis',
    })
  })

  it('should share its incidents through a real Redis once the app installs redis', async function () {
    this.timeout(180_000)
    const project = join(dir, 'consumer')
    await run(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--silent', 'redis@6'],
      {
        cwd: project,
      },
    )
    const redis = await startRedis()
    try {
      const out = await run(
        process.execPath,
        ['--input-type=module', '-e', STORE_CHECK, redis.url, '30000'],
        { cwd: project },
      )
      const { status, total } = JSON.parse(out.stdout) as {
        status: { backend: string; shared: boolean }
        total: number
      }
      expect(status).to.include({ backend: 'redis' })
      // a second instance sees the first one's incident: close() let it land
      expect(total).to.equal(1)
    } finally {
      await redis.stop()
    }
  })
})
