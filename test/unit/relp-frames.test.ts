import { expect } from 'chai'
import {
  encodeFrame,
  MAX_ANSWER_BYTES,
  RelpFrameReader,
  RelpProtocolError,
  type Frame,
} from '../../transports/syslog/relp-frames.js'

/** Feeds `bytes` to a fresh reader in chunks of the given sizes (the rest in one), and gathers the frames. */
function readInChunks(
  bytes: Buffer,
  sizes: number[] = [],
  reader = new RelpFrameReader(),
): Frame[] {
  const frames: Frame[] = []
  let at = 0
  for (const size of sizes) {
    frames.push(...reader.push(bytes.subarray(at, at + size)))
    at += size
  }
  if (at < bytes.length) frames.push(...reader.push(bytes.subarray(at)))
  return frames
}

function expectRefused(bytes: string | Buffer, reader = new RelpFrameReader()): RelpProtocolError {
  try {
    reader.push(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes)
  } catch (err) {
    expect(err).to.be.instanceOf(RelpProtocolError)
    expect((err as RelpProtocolError).code).to.equal('FAULTLINE_RELP_PROTOCOL')
    return err as RelpProtocolError
  }
  throw new Error(`accepted ${JSON.stringify(String(bytes))}`)
}

const answer = '200 OK\nrelp_version=0\ncommands=syslog'
const ANSWERS = Buffer.concat([
  encodeFrame(1, 'rsp', Buffer.from(answer)),
  encodeFrame(2, 'rsp', Buffer.from('200 OK')),
  encodeFrame(3, 'serverclose', Buffer.alloc(0)),
  encodeFrame(4, 'rsp', Buffer.from('500 caf\u00e9 \u2615')),
])
const EXPECTED: Frame[] = [
  { txnr: 1, command: 'rsp', data: answer },
  { txnr: 2, command: 'rsp', data: '200 OK' },
  { txnr: 3, command: 'serverclose', data: '' },
  { txnr: 4, command: 'rsp', data: '500 caf\u00e9 \u2615' },
]

describe('RELP frames', () => {
  it('should encode a frame as TXNR SP COMMAND SP DATALEN SP DATA LF, and an empty one without the data', () => {
    expect(encodeFrame(7, 'syslog', Buffer.from('hi')).toString('latin1')).to.equal(
      '7 syslog 2 hi\n',
    )
    expect(encodeFrame(8, 'close', Buffer.alloc(0)).toString('latin1')).to.equal('8 close 0\n')
  })

  it('should read several frames from one chunk', () => {
    expect(readInChunks(ANSWERS)).to.deep.equal(EXPECTED)
  })

  it('should read the same frames whichever byte the chunks split at, headers and UTF-8 included', () => {
    for (let split = 1; split < ANSWERS.length; split++)
      expect(readInChunks(ANSWERS, [split]), `split at ${split}`).to.deep.equal(EXPECTED)
  })

  it('should read frames that arrive one byte at a time', () => {
    expect(
      readInChunks(
        ANSWERS,
        Array.from({ length: ANSWERS.length }, () => 1),
      ),
    ).to.deep.equal(EXPECTED)
  })

  it('should hold no more than the frame being read', () => {
    const reader = new RelpFrameReader()
    const frame = encodeFrame(1, 'rsp', Buffer.alloc(1000, 0x61))
    reader.push(frame.subarray(0, 500))
    expect(reader.bufferedBytes).to.be.at.most(500)
    expect(reader.push(frame.subarray(500))).to.have.length(1)
    expect(reader.bufferedBytes).to.equal(0)
  })

  it('should refuse a frame announced past the bound as soon as its header ends, before its data', () => {
    const err = expectRefused(`1 rsp ${MAX_ANSWER_BYTES + 1} `)
    expect(err.message).to.contain(String(MAX_ANSWER_BYTES + 1))
    expectRefused('1 rsp 11 ', new RelpFrameReader(10))
    expect(new RelpFrameReader(10).push(Buffer.from('1 rsp 10 0123456789\n'))).to.have.length(1)
  })

  it('should refuse anything that is not RELP, whatever byte gives it away', () => {
    const malformed = [
      'HTTP/1.1 200 OK\r\n',
      'SSH-2.0-OpenSSH_9.6\r\n',
      '1 RSP 2 OK\n',
      '1 rsp 2 OKX',
      'x rsp 0\n',
      '1  rsp 0\n',
      '1 rsp 3\n',
      '1 rsp\n',
      '1\n',
      ' 1 rsp 0\n',
      '-1 rsp 0\n',
      '1 rsp 0x10 ',
      `1 ${'a'.repeat(33)} 0\n`,
      `1234567890 rsp 0\n`,
      `1 rsp 1234567890 `,
      '1 rsp 2 \u0000\u0000\u0000',
    ]
    for (const bytes of malformed) expectRefused(bytes)
  })

  it('should refuse a malformed frame that follows good ones in the same chunk', () => {
    const reader = new RelpFrameReader()
    expect(reader.push(encodeFrame(1, 'rsp', Buffer.from('200 OK')))).to.have.length(1)
    expectRefused('2 rsp 2 OK!', reader)
  })

  it('should refuse a header that never ends, within a bounded number of bytes', () => {
    const reader = new RelpFrameReader()
    let refusedAfter = 0
    try {
      for (; refusedAfter < 1000; refusedAfter++) reader.push(Buffer.from('1'))
    } catch (err) {
      expect(err).to.be.instanceOf(RelpProtocolError)
    }
    expect(refusedAfter).to.be.below(64)
  })
})
