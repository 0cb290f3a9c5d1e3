import { expect } from 'chai'
import express from 'express'
import { EXPRESS_MAJOR } from './support/express-major.js'
import { runScript } from './support/processes.js'

// what `import 'express'` resolves to, here and in a spawned child: the test hook's choice, not node_modules'
const wanted = EXPRESS_MAJOR

function majorOf(version: string): number {
  return Number(version.split('.')[0])
}

async function loadedVersion(): Promise<number> {
  const manifest = (await import('express/package.json', { with: { type: 'json' } })) as {
    default: { version: string }
  }
  return majorOf(manifest.default.version)
}

describe('Express version under test', function () {
  it('should load the Express that FAULTLINE_TEST_EXPRESS asks for', async function () {
    expect(await loadedVersion()).to.equal(wanted)
    // Express 4 still has the deprecated `app.del`; Express 5 removed it
    expect(typeof (express() as unknown as { del?: unknown }).del === 'function').to.equal(
      wanted === 4,
    )
  })

  it('should load the same Express in a child process the tests spawn', async function () {
    const { stdout } = await runScript('express-version-child.ts')
    expect(majorOf(stdout.trim())).to.equal(wanted)
  })
})
