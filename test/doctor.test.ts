import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'chai'
import { runScript, type ScriptResult } from './support/processes.js'

const cli = join(import.meta.dirname, '..', 'bin', 'faultline.ts')

/** `faultline doctor` with only these FAULTLINE_* and NODE_ENV set, as a deployment would run it. */
function doctor(env: Record<string, string>, args: string[] = []): Promise<ScriptResult> {
  const clean: NodeJS.ProcessEnv = { ...process.env }
  for (const name of Object.keys(clean))
    if (name.startsWith('FAULTLINE_') && name !== 'FAULTLINE_TEST_EXPRESS') delete clean[name]
  delete clean.NODE_ENV
  return runScript(cli, ['doctor', ...args], { env: { ...clean, ...env }, allowFailure: true })
}

describe('faultline doctor', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'faultline-doctor-'))
  })
  afterEach(() => rm(dir, { recursive: true, force: true }))

  it('should say which destinations are on, which are off and why, where they go, without a password', async () => {
    const result = await doctor({
      NODE_ENV: 'development',
      FAULTLINE_MAIL: 'smtp://alerts:hunter2@mail.example.org:587',
      FAULTLINE_MANAGERS: 'ops@example.org',
      FAULTLINE_APP_NAME: 'shop',
      FAULTLINE_TICKETS: `local:${join(dir, 'tickets')}`,
      FAULTLINE_FORCE: 'tickets',
      FAULTLINE_STORE: 'redis://:hunter2@127.0.0.1:6390/2',
    })
    expect(result.code, result.stderr).to.equal(0)
    const out = result.stdout
    expect(out).to.contain('app: shop (from FAULTLINE_APP_NAME)')
    expect(out).to.contain('debug mode: on (NODE_ENV=development)')
    expect(out).to.contain(
      'mail: off: NODE_ENV=development (debug mode); set force: true or FAULTLINE_FORCE=1 to send (would go to smtp://mail.example.org:587 to ops@example.org)',
    )
    expect(out).to.contain(`tickets: on, local ${join(dir, 'tickets')}, forced in debug mode`)
    expect(out).to.contain('syslog: off: not configured')
    expect(out).to.contain('store: redis://127.0.0.1:6390/2 (shared with the fleet)')
    expect(out + result.stderr).not.to.contain('hunter2')
  })

  it("should read the app's options from a module, the code winning over the environment", async () => {
    const module = join(dir, 'faultline-options.mjs')
    await writeFile(
      module,
      `export const faultlineOptions = { appName: 'shop', syslog: 'tcp://logs.example.org:601', file: ${JSON.stringify(join(dir, 'errors.log'))} }\n`,
    )
    const result = await doctor(
      { NODE_ENV: 'production', FAULTLINE_SYSLOG: 'relp://', FAULTLINE_APP_NAME: 'other' },
      ['--module', module],
    )
    expect(result.code, result.stderr).to.equal(0)
    expect(result.stdout).to.contain('app: shop\n')
    expect(result.stdout).to.contain('syslog: on, tcp://logs.example.org:601')
    expect(result.stdout).to.contain(`file: on, ${join(dir, 'errors.log')} (level warn)`)
  })

  it('should exit non-zero on an invalid configuration, naming the field or variable', async () => {
    const fromEnv = await doctor({ FAULTLINE_SYSLOG: 'relp://:hunter2@' })
    expect(fromEnv.code).to.equal(1)
    expect(fromEnv.stderr).to.contain('environment variable FAULTLINE_SYSLOG is wrong')
    expect(fromEnv.stderr).not.to.contain('hunter2')
    const module = join(dir, 'bad.mjs')
    await writeFile(
      module,
      `export default { mail: { url: 'smtp://mail.example.org', warnings: true } }\n`,
    )
    const renamed = await doctor({ FAULTLINE_MANAGERS: 'ops@example.org' }, ['--module', module])
    expect(renamed.code).to.equal(1)
    expect(renamed.stderr).to.contain('option "mail.warnings" was renamed to "mail.level"')
    expect(renamed.stderr).to.contain('invalid configuration (mail.warnings)')
  })
})
