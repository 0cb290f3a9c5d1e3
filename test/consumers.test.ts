import { expect } from 'chai'
import { EXPRESS_MAJOR } from './support/express-major.js'
import { binary, makeConsumer, packPackage, run } from './support/packed-package.js'

// the Express this run tests, linked as the `express` the consumers require
const EXPRESS = EXPRESS_MAJOR === 4 ? 'express4' : 'express'
const PRODUCTION = { ...process.env, NODE_ENV: 'production' }
// the CommonJS build needs no require(esm): it loads where that is off, as in jest (on a Node that still has the switch)
const WITHOUT_REQUIRE_ESM = process.allowedNodeEnvironmentFlags.has(
  '--no-experimental-require-module',
)
  ? ['--no-experimental-require-module']
  : []

/** Runs a command; its output, or a failure that quotes it. */
async function runIn(cwd: string, command: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(command, args, { cwd, env: PRODUCTION })
    return stdout
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string }
    throw new Error(`${command} ${args.join(' ')} failed:\n${stdout ?? ''}\n${stderr ?? ''}`, {
      cause: err,
    })
  }
}

/** A Node script's last line of output, read as JSON. */
async function runScript(
  cwd: string,
  script: string,
  nodeOptions: string[] = [],
): Promise<Record<string, unknown>> {
  const out = await runIn(cwd, process.execPath, [...nodeOptions, script])
  return JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>
}

interface AttwAnalysis {
  problems: unknown
  analysis: {
    entrypoints: Record<
      string,
      {
        resolutions: Record<
          string,
          { resolution?: { fileName: string }; implementationResolution?: { fileName: string } }
        >
      }
    >
  }
}

/** Per entry point and resolution mode, the declaration file and the code it resolves to. */
function resolvedFiles({
  entrypoints,
}: AttwAnalysis['analysis']): Record<string, Record<string, string>> {
  const within = (file: string | undefined) =>
    file?.replace('/node_modules/faultline/', '') ?? 'none'
  const entries = Object.entries(entrypoints).filter(([subpath]) => subpath !== './package.json')
  return Object.fromEntries(
    entries.map(([subpath, { resolutions }]) => [
      subpath,
      Object.fromEntries(
        Object.entries(resolutions).map(([mode, found]) => [
          mode,
          `${within(found.resolution?.fileName)} → ${within(found.implementationResolution?.fileName)}`,
        ]),
      ),
    ]),
  )
}

const EXPRESS4_APP = `'use strict'
const express = require('express')
const { readFileSync } = require('node:fs')
const { createFaultline } = require('faultline')

// set up synchronously, as in ESM
const faultline = createFaultline({
  appName: 'legacy', env: false, stderr: false, spoolDir: false, file: 'var/errors.log',
})
const app = express()
app.use(faultline.requestHandler())
app.get('/boom', () => {
  throw new Error('order 42 is locked')
})
app.use(faultline.errorHandler())

const server = app.listen(0, '127.0.0.1', async () => {
  const res = await fetch('http://127.0.0.1:' + server.address().port + '/boom')
  const page = await res.text()
  server.close()
  await faultline.close({ timeout: 3000 })
  const lines = readFileSync('var/errors.log', 'utf8').split('\\n').filter(Boolean).map((line) => JSON.parse(line))
  console.log(JSON.stringify({
    express: require('express/package.json').version.split('.')[0],
    loaded: require.resolve('faultline').replace(/^.*node_modules\\/faultline\\//, ''),
    status: res.status,
    incidentId: res.headers.get('x-incident-id'),
    pageQuotesId: page.includes(res.headers.get('x-incident-id')),
    lines: lines.map((line) => ({ id: line.id, kind: line.kind, message: line.message })),
  }))
})
`

// the same source type-checks under nodenext and node10, and runs as CommonJS
const TS_APP = `import express from 'express'
import { createFaultline, SuspiciousRequest, type Faultline, type Report } from 'faultline'
import { inject, Outbox } from 'faultline/testing'

const outbox = new Outbox()
const faultline: Faultline = createFaultline({
  appName: 'ts-cjs', env: false, stderr: false, spoolDir: false, transports: [outbox],
})
const app = express()
app.use(faultline.requestHandler())
app.get('/probe', () => {
  throw new SuspiciousRequest('negative refund')
})
app.get('/boom', () => {
  throw new Error('order 42 is locked')
})
app.use(faultline.errorHandler())

async function main(): Promise<void> {
  const probe = await inject(app, { url: '/probe', throwErrors: false })
  const boom = await inject(app, { url: '/boom', throwErrors: false })
  await faultline.close({ timeout: 3000 })
  const kinds = outbox.reports.map((report: Report) => report.kind)
  console.log(JSON.stringify({
    commonjs: typeof module === 'object' && typeof require === 'function',
    loaded: require.resolve('faultline').replace(/^.*node_modules\\/faultline\\//, ''),
    statuses: [probe.status, boom.status],
    kinds,
  }))
}
void main()
`

const TS_NODENEXT = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    esModuleInterop: true,
    outDir: 'out',
    rootDir: 'src',
    types: ['node'],
  },
  include: ['src'],
}
const TS_NODE10 = {
  compilerOptions: {
    ...TS_NODENEXT.compilerOptions,
    module: 'CommonJS',
    moduleResolution: 'Node10',
    outDir: 'out-node10',
    // faultline's declarations are checked once, above; here what matters is that node10 resolves them
    skipLibCheck: true,
  },
  include: ['src'],
}

// ESM source, as Babel users write it; import() becomes require() too
const BABEL_APP = `import express from 'express'
import { createFaultline } from 'faultline'
import { inject, Outbox } from 'faultline/testing'

const outbox = new Outbox()
const faultline = createFaultline({ appName: 'babel', env: false, stderr: false, spoolDir: false, transports: [outbox] })
const app = express()
app.use(faultline.requestHandler())
app.get('/boom', () => {
  throw new Error('order 42 is locked')
})
app.use(faultline.errorHandler())

async function main() {
  const page = await inject(app, { url: '/boom', throwErrors: false })
  const again = await import('faultline')
  await faultline.close({ timeout: 3000 })
  console.log(JSON.stringify({
    loaded: require.resolve('faultline').replace(/^.*node_modules\\/faultline\\//, ''),
    status: page.status,
    kinds: outbox.reports.map((report) => report.kind),
    oneCopy: again.createFaultline === createFaultline,
  }))
}
main()
`

const JEST_TEST = `const express = require('express')
const { createFaultline } = require('faultline')
const { inject, Outbox } = require('faultline/testing')

const outbox = new Outbox()
const faultline = createFaultline({ appName: 'jest', env: false, stderr: false, spoolDir: false, transports: [outbox] })
const app = express()
app.use(faultline.requestHandler())
app.get('/boom', () => {
  throw new Error('order 42 is locked')
})
app.use(faultline.errorHandler())

afterAll(() => faultline.close({ timeout: 3000 }))

test('hands a thrown error to the test', async () => {
  await expect(inject(app, { url: '/boom' })).rejects.toThrow('order 42 is locked')
})

test('renders the error page with its incident id and reports the traceback', async () => {
  const page = await inject(app, { url: '/boom', throwErrors: false })
  expect(page.status).toBe(500)
  expect(page.headers['x-incident-id']).toEqual(expect.any(String))
  expect(outbox.reports.map((report) => report.kind)).toContain('traceback')
})
`

// an ESM app on one copy, a CommonJS library on the other: what the two must agree on
const MIXED_APP = `import { createRequire } from 'node:module'
import express from 'express'
import { createFaultline, shouldThrow, THROW_ERRORS } from 'faultline'
import { inject, Outbox } from 'faultline/testing'

const required = createRequire(import.meta.url)('faultline')
const outbox = new Outbox()
const faultline = createFaultline({ appName: 'mixed', env: false, stderr: false, spoolDir: false, transports: [outbox] })
const app = express()
app.use(faultline.requestHandler())
app.get('/flag', (req, res) => res.json([shouldThrow(req), required.shouldThrow(req)]))
app.get('/probe', () => {
  throw new required.SuspiciousRequest('negative refund')
})
app.use(faultline.errorHandler())

const flag = await inject(app, { url: '/flag' })
const probe = await inject(app, { url: '/probe', throwErrors: false })
await faultline.close({ timeout: 3000 })
console.log(JSON.stringify({
  twoCopies: required.createFaultline !== createFaultline,
  sameFlag: required.THROW_ERRORS === THROW_ERRORS,
  flags: JSON.parse(flag.body),
  probe: probe.status,
  kinds: outbox.reports.map((report) => report.kind),
}))
`

describe('faultline in CommonJS consumers', function () {
  this.timeout(240_000)

  before(async () => {
    await packPackage()
  })

  it('should ship a CommonJS build beside the ESM one, marked as CommonJS, and faultline/testing for node10 resolution', async () => {
    const { files } = await packPackage()
    expect(files).to.include.members([
      'dist/cjs/package.json',
      'dist/cjs/lib/index.js',
      'dist/cjs/lib/index.d.ts',
      'dist/cjs/lib/testing.js',
      'dist/cjs/lib/testing.d.ts',
      'testing/package.json',
    ])
  })

  it('should have types that resolve for CommonJS and ESM under node10, node16 and bundler resolution (attw)', async () => {
    const { tarball } = await packPackage()
    // exits non-zero on any problem: runIn throws with its table
    const out = await runIn(process.cwd(), binary('.bin/attw'), [tarball, '--format', 'json'])
    const { analysis, problems } = JSON.parse(out) as AttwAnalysis
    expect(problems).to.deep.equal({})
    expect(resolvedFiles(analysis)).to.deep.equal({
      '.': {
        node10: 'dist/cjs/lib/index.d.ts → dist/cjs/lib/index.js',
        'node16-cjs': 'dist/cjs/lib/index.d.ts → dist/cjs/lib/index.js',
        'node16-esm': 'dist/lib/index.d.ts → dist/lib/index.js',
        bundler: 'dist/lib/index.d.ts → dist/lib/index.js',
      },
      './testing': {
        node10: 'dist/cjs/lib/testing.d.ts → dist/cjs/lib/testing.js',
        'node16-cjs': 'dist/cjs/lib/testing.d.ts → dist/cjs/lib/testing.js',
        'node16-esm': 'dist/lib/testing.d.ts → dist/lib/testing.js',
        bundler: 'dist/lib/testing.d.ts → dist/lib/testing.js',
      },
    })
  })

  it('should load with require() in an Express 4 app: a thrown error gives a 500 with X-Incident-Id and a line in the file', async () => {
    const project = await makeConsumer('express4-cjs', {
      files: {
        'package.json': JSON.stringify({ name: 'legacy', private: true }),
        'server.js': EXPRESS4_APP,
      },
      links: { express: 'express4' },
    })
    const out = await runScript(project, 'server.js', WITHOUT_REQUIRE_ESM)
    expect(out).to.deep.include({
      express: '4',
      loaded: 'dist/cjs/lib/index.js',
      status: 500,
      pageQuotesId: true,
    })
    expect(out.incidentId).to.be.a('string').and.not.equal('')
    expect(out.lines).to.deep.equal([
      { id: out.incidentId, kind: 'traceback', message: 'Error: order 42 is locked' },
    ])
  })

  it('should type-check a TypeScript app compiled to CommonJS under nodenext and node10 resolution, then run it', async () => {
    const project = await makeConsumer('typescript-cjs', {
      files: {
        'package.json': JSON.stringify({ name: 'ts-cjs', private: true, type: 'commonjs' }),
        'tsconfig.json': JSON.stringify(TS_NODENEXT),
        'tsconfig.node10.json': JSON.stringify(TS_NODE10),
        'src/server.ts': TS_APP,
      },
      links: { express: EXPRESS, '@types/express': '@types/express', '@types/node': '@types/node' },
    })
    const tsc = binary('typescript/bin/tsc')
    expect(await runIn(project, process.execPath, [tsc, '-p', 'tsconfig.json'])).to.equal('')
    expect(await runIn(project, process.execPath, [tsc, '-p', 'tsconfig.node10.json'])).to.equal('')
    const expected = {
      commonjs: true,
      loaded: 'dist/cjs/lib/index.js',
      statuses: [400, 500],
      kinds: ['warning', 'traceback'],
    }
    expect(await runScript(project, 'out/server.js')).to.deep.equal(expected)
    expect(await runScript(project, 'out-node10/server.js')).to.deep.equal(expected)
  })

  it('should run an app Babel compiled from ESM to CommonJS, its import() included, with one copy of faultline', async () => {
    const project = await makeConsumer('babel-cjs', {
      files: {
        'package.json': JSON.stringify({ name: 'babel-app', private: true }),
        'babel.config.json': JSON.stringify({
          presets: [['@babel/preset-env', { targets: { node: '20.19' } }]],
        }),
        'src/server.js': BABEL_APP,
      },
      links: { express: EXPRESS, '@babel/preset-env': '@babel/preset-env' },
    })
    await runIn(project, process.execPath, [
      binary('@babel/cli/bin/babel.js'),
      'src',
      '--out-dir',
      'out',
    ])
    expect(await runScript(project, 'out/server.js')).to.deep.equal({
      loaded: 'dist/cjs/lib/index.js',
      status: 500,
      kinds: ['traceback'],
      oneCopy: true,
    })
  })

  it('should run a CommonJS jest suite that uses faultline and faultline/testing', async () => {
    const project = await makeConsumer('jest-cjs', {
      files: {
        'package.json': JSON.stringify({
          name: 'jest-app',
          private: true,
          jest: { testEnvironment: 'node' },
        }),
        'test/app.test.js': JEST_TEST,
      },
      links: { express: EXPRESS },
    })
    const out = await run(
      process.execPath,
      [binary('jest/bin/jest.js'), '--ci', '--no-watchman', '--cacheDirectory', '.jest-cache'],
      { cwd: project, env: PRODUCTION },
    ).catch((err: { stdout?: string; stderr?: string }) => {
      throw new Error(`jest failed:\n${err.stdout ?? ''}\n${err.stderr ?? ''}`, { cause: err })
    })
    expect(out.stderr).to.match(/Tests:\s+2 passed, 2 total/)
  })

  it('should agree across the two copies an app that imports and requires it loads: the throw flag, a SuspiciousRequest', async () => {
    const project = await makeConsumer('mixed', {
      files: {
        'package.json': JSON.stringify({ name: 'mixed', private: true }),
        'app.mjs': MIXED_APP,
      },
      links: { express: EXPRESS },
    })
    expect(await runScript(project, 'app.mjs')).to.deep.equal({
      twoCopies: true,
      sameFlag: true,
      flags: [true, true],
      probe: 400,
      kinds: ['warning'],
    })
  })
})
