import { expect } from 'chai'
import { createHarness, waitUntil, type Harness } from '../helpers.js'
import { rsyslogForSuite } from '../support/rsyslog.js'
import {
  FLOOD_BYTES,
  startHostileRelp,
  type HostileRelp,
  type RelpMisbehaviour,
} from '../support/hostile-relp.js'
import { heapGrowthDuring } from '../support/heap.js'

const MESSAGES = 5

describe('a RELP receiver that misbehaves (a hostile receiver of our own in front of real rsyslog)', function () {
  this.timeout(60_000)
  const rsyslog = rsyslogForSuite()
  let hostile: HostileRelp | undefined
  let h: Harness | undefined
  afterEach(async () => {
    await h?.faultline.close({ timeoutMs: 2000 })
    await hostile?.close()
    h = hostile = undefined
  })

  /** Captures `MESSAGES` errors through a harness whose first sessions meet `misbehaviours`. */
  async function sendThrough(misbehaviours: RelpMisbehaviour[]): Promise<string[]> {
    hostile = await startHostileRelp(misbehaviours, rsyslog().relpPort)
    h = createHarness({
      syslog: { url: `relp://127.0.0.1:${hostile.port}`, relp: { ackTimeoutMs: 1000 } },
    })
    const harness = h
    return Array.from({ length: MESSAGES }, (_, i) =>
      harness.faultline.capture(new Error(`hostile relp ${misbehaviours.join('+')} ${i}`)),
    )
  }

  /** Every id is stored by rsyslog: nothing the hostile sessions swallowed is lost. */
  async function expectAllStored(ids: string[]): Promise<void> {
    await waitUntil(
      () => {
        const records = rsyslog().records()
        return ids.every((id) => records.some((r) => r.structuredData.includes(`id="${id}"`)))
          ? true
          : undefined
      },
      30_000,
      `all ${ids.length} messages in rsyslog`,
    )
  }

  const brokeProtocol = (notices: string[]) =>
    notices.filter((n) => n.includes('broke the RELP protocol'))

  it('should hang up on a frame announced at 900 MB before reading megabytes of it, and send its messages to the next session', async () => {
    let ids: string[] = []
    const growth = await heapGrowthDuring(async () => {
      ids = await sendThrough(['flood'])
      await expectAllStored(ids)
    })
    expect(hostile!.written, 'bytes the receiver could push').to.be.below(FLOOD_BYTES / 2)
    expect(growth, 'heap growth').to.be.below(FLOOD_BYTES / 2)
    expect(h!.faultline.stats().syslog).to.include({ protocolErrors: 1, dropped: 0 })
    expect(brokeProtocol(h!.notices)).to.have.length(1)
    expect(brokeProtocol(h!.notices)[0]).to.include('900000000 bytes')
  })

  it('should drop a session whose answer is malformed, count it, and resend what it left unacknowledged', async () => {
    const ids = await sendThrough(['malformed', 'malformed'])
    await expectAllStored(ids)
    expect(hostile!.sessions).to.be.at.least(3)
    expect(h!.faultline.stats().syslog).to.include({ protocolErrors: 2, dropped: 0 })
    // said once, however often the receiver repeats it before messages get through
    expect(brokeProtocol(h!.notices)).to.have.length(1)
    expect(brokeProtocol(h!.notices)[0]).to.include('without its trailer')
  })

  it('should give up on a receiver that only acknowledges transactions never sent, and resend to the next session', async () => {
    const ids = await sendThrough(['strays'])
    await expectAllStored(ids)
    expect(h!.faultline.stats().syslog).to.include({ protocolErrors: 1, dropped: 0 })
    expect(brokeProtocol(h!.notices)).to.have.length(1)
    expect(brokeProtocol(h!.notices)[0]).to.include('transactions never sent')
  })

  it('should give up on an answer that trickles in without end, and resend to the next session', async () => {
    const ids = await sendThrough(['trickle'])
    await expectAllStored(ids)
    // rsyslog stores a message before its acknowledgement reaches the transport
    const harness = h!
    await waitUntil(
      () => (harness.faultline.stats().syslog!.delivered! >= MESSAGES ? true : undefined),
      10_000,
      `${MESSAGES} acknowledgements`,
    )
    expect(harness.faultline.stats().syslog).to.include({ dropped: 0, protocolErrors: 0 })
  })
})
