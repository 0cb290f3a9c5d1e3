import { expect } from 'chai'
import { join } from 'node:path'
import { ROOT, spawnScript, type RunningScript } from '../support/processes.js'

interface SmokeLine {
  smoke: 'ok' | 'failed'
  problems: string[]
  row: { processes: number; issued: number; recorded: number; fallbacks: number }
}

// bench/fleet-ceiling.ts in its smoke mode: a private redis-server, the probed app process and two
// simulated processes, one small step. Proves the bench still runs and counts what it measures.
describe('bench fleet-ceiling smoke mode', function () {
  this.timeout(120_000)
  let script: RunningScript
  let code: number | null

  before(async () => {
    script = spawnScript(join(ROOT, 'bench', 'fleet-ceiling.ts'), ['--smoke'])
    code = await script.exited
  })

  it('should push one small step into Redis and find every report counted there, none answered locally', () => {
    const line = script.lines.find((l) => l.startsWith('{"smoke"'))
    expect(line, `stdout: ${script.lines.join('\n')}\nstderr: ${script.stderr()}`).to.be.a('string')
    const smoke = JSON.parse(line!) as SmokeLine
    expect(smoke.problems).to.deep.equal([])
    expect(smoke.row.processes).to.equal(2)
    expect(smoke.row.issued).to.equal(200)
    expect(smoke.row.recorded).to.equal(smoke.row.issued)
    expect(smoke.row.fallbacks).to.equal(0)
    expect(code).to.equal(0)
  })

  it('should print the step as a row of the table bench/README.md shows, and the ceiling line', () => {
    const header = script.lines.find((l) => l.startsWith('| processes |'))
    const row = script.lines.find((l) => l.startsWith('| 2 | 200 |'))
    expect(header, script.lines.join('\n')).to.be.a('string')
    expect(row, script.lines.join('\n')).to.be.a('string')
    expect(row!.split('|').length).to.equal(header!.split('|').length)
    expect(script.lines.some((l) => l.startsWith('2 processes: ceiling'))).to.equal(true)
  })
})
