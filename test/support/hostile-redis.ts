import { createServer, type Server, type Socket } from 'node:net'

/** A fake Redis on loopback: answers the handshake and PING, then meets every other command with a huge bulk string. */
export interface HostileRedis {
  url: string
  /** Connections made to it, and bytes it streamed in all. */
  connections: number
  streamed: number
  close(): Promise<void>
}

const CHUNK = Buffer.alloc(256 * 1024, 'x')
const bulk = (text: string) => `$${text.length}\r\n${text}\r\n`
// HELLO 3's answer: a RESP3 map, as Redis 7 gives it
const HELLO =
  '%7\r\n' +
  [
    ['server', bulk('redis')],
    ['version', bulk('7.2.0')],
    ['proto', ':3\r\n'],
    ['id', ':1\r\n'],
    ['mode', bulk('standalone')],
    ['role', bulk('master')],
    ['modules', '*0\r\n'],
  ]
    .map(([key, value]) => bulk(key!) + value!)
    .join('')

/**
 * Every command but HELLO, PING, CLIENT and SELECT is answered
 * `$<announced>\r\n` and then as fast as the socket takes it, up to
 * `announced` bytes or until the client hangs up.
 */
export async function startHostileRedis(announced = 900_000_000): Promise<HostileRedis> {
  const sockets = new Set<Socket>()
  const state = { connections: 0, streamed: 0 }
  const stream = (socket: Socket) => {
    socket.write(`$${announced}\r\n`)
    let sent = 0
    const more = () => {
      while (!socket.destroyed && sent < announced) {
        sent += CHUNK.length
        state.streamed += CHUNK.length
        if (!socket.write(CHUNK)) return void socket.once('drain', more)
      }
    }
    more()
  }
  const server: Server = createServer((socket) => {
    state.connections++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => undefined)
    let streaming = false
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => {
      for (const [, name] of chunk.matchAll(/\*\d+\r\n\$\d+\r\n([A-Za-z]+)\r\n/g)) {
        const command = name!.toUpperCase()
        if (streaming) return
        if (command === 'PING') socket.write('+PONG\r\n')
        else if (command === 'HELLO') socket.write(HELLO)
        else if (command === 'CLIENT' || command === 'SELECT') socket.write('+OK\r\n')
        else {
          streaming = true
          stream(socket)
        }
      }
    })
  })
  const port = await new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  )
  return {
    url: `redis://127.0.0.1:${port}`,
    get connections() {
      return state.connections
    },
    get streamed() {
      return state.streamed
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}
