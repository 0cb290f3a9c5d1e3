import { expect } from 'chai'
import { createServer, type Server, type ServerResponse } from 'node:http'
import { RedmineAdapter, TicketError } from '../lib/index.js'
import { heapGrowthDuring } from './support/heap.js'

const STREAM_BYTES = 256 * 1024 * 1024

/** A "Redmine" of our own on 127.0.0.1 that answers every call with `answer`. */
async function startTracker(
  answer: (res: ServerResponse, state: { written: number }) => void,
): Promise<{ url: string; state: { written: number }; close(): Promise<void> }> {
  const state = { written: 0 }
  const server: Server = createServer((req, res) => {
    req.resume()
    res.on('error', () => undefined)
    answer(res, state)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    close: () => {
      server.closeAllConnections()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** Streams up to `STREAM_BYTES` of a JSON array that never closes, as fast as the client reads. */
function streamEndlessJson(status: number) {
  return (res: ServerResponse, state: { written: number }) => {
    res.writeHead(status, { 'Content-Type': 'application/json' })
    res.write('{"issues":[')
    const chunk = Buffer.from(`${'{"id":1,"subject":"x"},'.repeat(2800)}`)
    const pump = (): void => {
      while (state.written < STREAM_BYTES && !res.destroyed) {
        state.written += chunk.length
        if (!res.write(chunk)) return void res.once('drain', pump)
      }
      res.end()
    }
    pump()
  }
}

function adapterFor(url: string, timeoutMs = 30_000): RedmineAdapter {
  return new RedmineAdapter({ baseUrl: url, apiKey: 'k', project: 'shop', timeoutMs })
}

describe('a tracker that misbehaves (a hostile Redmine of our own on loopback)', function () {
  this.timeout(60_000)
  let tracker: Awaited<ReturnType<typeof startTracker>> | undefined
  afterEach(async () => {
    await tracker?.close()
    tracker = undefined
  })

  it('should stop reading an answer that streams hundreds of megabytes, and fail the call rather than take it for "no ticket"', async () => {
    tracker = await startTracker(streamEndlessJson(200))
    let failure: unknown
    const growth = await heapGrowthDuring(() =>
      adapterFor(tracker!.url)
        .find('f'.repeat(16))
        .then(
          (found) => expect.fail(`find() resolved ${JSON.stringify(found)}`),
          (err: unknown) => (failure = err),
        ),
    )
    expect(failure).to.be.instanceOf(TicketError)
    expect((failure as Error).message).to.include('larger than')
    expect(growth, 'heap growth').to.be.below(64 * 1024 * 1024)
    expect(tracker.state.written, 'bytes the tracker could push').to.be.below(STREAM_BYTES / 4)
  })

  it('should read no more than a bounded part of an error answer that streams hundreds of megabytes', async () => {
    tracker = await startTracker(streamEndlessJson(500))
    let failure: unknown
    const growth = await heapGrowthDuring(() =>
      adapterFor(tracker!.url)
        .comment({ id: '7', closed: false }, 'again')
        .catch((err: unknown) => (failure = err)),
    )
    expect(failure).to.be.instanceOf(TicketError)
    expect((failure as TicketError).status).to.equal(500)
    expect(growth, 'heap growth').to.be.below(64 * 1024 * 1024)
    expect(tracker.state.written, 'bytes the tracker could push').to.be.below(STREAM_BYTES / 4)
  })

  it('should fail a call whose answer never ends once its timeout passes', async () => {
    tracker = await startTracker((res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.write('{"issues":[')
    })
    const failure = await adapterFor(tracker.url, 300)
      .find('f'.repeat(16))
      .then(
        () => undefined,
        (err: unknown) => err,
      )
    expect(failure).to.be.instanceOf(TicketError)
    expect((failure as Error).message).to.include('did not arrive whole within 300 ms')
  })

  it('should fail a call whose answer is not JSON rather than take it for "no ticket"', async () => {
    tracker = await startTracker((res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' })
      res.end('<html>maintenance</html>')
    })
    const failure = await adapterFor(tracker.url)
      .find('f'.repeat(16))
      .then(
        () => undefined,
        (err: unknown) => err,
      )
    expect(failure).to.be.instanceOf(TicketError)
    expect((failure as Error).message).to.include('is not JSON')
  })
})
