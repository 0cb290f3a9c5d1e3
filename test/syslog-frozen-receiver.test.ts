import { expect } from 'chai'
import { createServer, type Server, type Socket } from 'node:net'
import { waitUntil } from './helpers.js'
import { SyslogTransport } from '../transports/syslog.js'

/** A receiver whose first connection is frozen (accepted, never read) and whose later ones read everything. */
async function startFreezingReceiver(): Promise<{
  port: number
  /** The message numbers seen, read as they arrive: `message-<n>-end`. */
  seen: Set<number>
  connections: number
  close(): Promise<void>
}> {
  const sockets = new Set<Socket>()
  const seen = new Set<number>()
  const state = { connections: 0 }
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => undefined)
    if (state.connections++ === 0) return void socket.pause()
    socket.setEncoding('latin1')
    let tail = ''
    socket.on('data', (chunk: string) => {
      const text = tail + chunk
      for (const match of text.matchAll(/message-(\d+)-end/g)) seen.add(Number(match[1]))
      tail = text.slice(-30)
    })
  })
  const port = await new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  )
  return {
    port,
    seen,
    get connections() {
      return state.connections
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

describe('syslog over TCP to a receiver that stops reading', () => {
  it('should drop the stalled connection, count it and deliver every message on a new one', async function () {
    this.timeout(60_000)
    const receiver = await startFreezingReceiver()
    const transport = new SyslogTransport({
      url: `tcp://127.0.0.1:${receiver.port}`,
      level: 'info',
      writeTimeoutMs: 2000,
      // what a stalled receiver may not have read is resent when it went out within inDoubtMs
      inDoubtMs: 10_000,
    })
    transport.on('warn', () => undefined)
    // more than the kernel buffers of a paused reader hold (about 4 MB on loopback), so writes stall
    const count = 60
    const filler = 'x'.repeat(150_000)
    try {
      for (let i = 0; i < count; i++)
        transport.log(
          { level: 'error', message: `message-${i}-start ${filler} message-${i}-end` },
          () => undefined,
        )
      await waitUntil(
        () => (receiver.seen.size === count ? true : undefined),
        45_000,
        'every message at the receiver after the stall',
      )
      expect(transport.stats().stalls).to.equal(1)
      expect(receiver.connections).to.equal(2)
    } finally {
      await transport.close()
      await receiver.close()
    }
  })
})
