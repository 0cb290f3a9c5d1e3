import { expect } from 'chai'
import { EXPRESS_MAJOR } from './support/express-major.js'
import {
  BABEL_APP,
  EXPRESS4_APP,
  JEST_TEST,
  MIXED_APP,
  TS_APP,
  TS_NODE10,
  TS_NODENEXT,
} from './fixtures/consumer-apps.js'
import {
  binary,
  makeConsumer,
  packPackage,
  resolvedFiles,
  run,
  type AttwAnalysis,
} from './support/packed-package.js'

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
