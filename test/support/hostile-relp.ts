import { connect, createServer, type Server, type Socket } from 'node:net'

/** How one session of the hostile receiver misbehaves. */
export type RelpMisbehaviour =
  /** answers the client's `open` with a frame announcing 900,000,000 bytes, then streams up to 20 MB */
  | 'flood'
  /** answers `open` properly, then answers the first message with a frame lacking its trailer */
  | 'malformed'
  /** answers `open` properly, then only ever acknowledges transaction numbers the client never sent */
  | 'strays'
  /** answers `open` properly, then starts an answer and trickles its bytes, one every 100 ms, without end */
  | 'trickle'

export const FLOOD_BYTES = 20 * 1024 * 1024

/**
 * A RELP receiver of our own on 127.0.0.1: the first sessions misbehave, one
 * misbehaviour each; every later session is passed through to a real
 * receiver (rsyslog's imrelp), so what the client sends again can be checked
 * there.
 */
export interface HostileRelp {
  port: number
  /** Bytes the hostile sessions managed to write before the client hung up. */
  written: number
  /** Sessions the client opened so far, hostile and passed through. */
  sessions: number
  close(): Promise<void>
}

const OPEN_ANSWER = '200 OK\nrelp_version=0\nrelp_software=hostile\ncommands=syslog'

function frame(txnr: number | string, command: string, data: string): string {
  return `${txnr} ${command} ${Buffer.byteLength(data)} ${data}\n`
}

/** The transaction numbers of the client's `syslog` frames in `text` (its frames are small here). */
function syslogTxnrs(text: string): number[] {
  return [...text.matchAll(/(?:^|\n)(\d+) syslog \d+ /g)].map((m) => Number(m[1]))
}

export async function startHostileRelp(
  misbehaviours: RelpMisbehaviour[],
  upstreamPort: number,
): Promise<HostileRelp> {
  const plan = [...misbehaviours]
  const timers = new Set<NodeJS.Timeout>()
  const sockets = new Set<Socket>()
  const state: HostileRelp = {
    port: 0,
    written: 0,
    sessions: 0,
    close: async () => {
      for (const timer of timers) clearInterval(timer)
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  const every = (ms: number, work: () => void) => {
    const timer = setInterval(work, ms)
    timers.add(timer)
    return timer
  }
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => undefined)
    state.sessions++
    const misbehaviour = plan.shift()
    if (!misbehaviour) return passThrough(socket, upstreamPort, sockets)
    let opened = false
    socket.on('data', (chunk: Buffer) => {
      const text = chunk.toString('latin1')
      if (!opened) {
        opened = true
        if (misbehaviour === 'flood') return flood(socket, state)
        socket.write(frame(1, 'rsp', OPEN_ANSWER))
      }
      const txnrs = syslogTxnrs(text)
      if (!txnrs.length) return
      if (misbehaviour === 'malformed') socket.write(`${txnrs[0]} rsp 6 200 OKX`)
      if (misbehaviour === 'strays') {
        // babbles on: every 50 ms another answer, each for a transaction that never was
        let stray = 500_000
        const timer = every(50, () => socket.write(frame(stray++, 'rsp', '200 OK')))
        socket.on('close', () => clearInterval(timer))
      }
      if (misbehaviour === 'trickle') {
        socket.write(`${txnrs[0]} rsp 60000 `)
        const timer = every(100, () => socket.write('2'))
        socket.on('close', () => clearInterval(timer))
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  state.port = (server.address() as { port: number }).port
  return state
}

/** Announces a frame of 900,000,000 bytes and streams as much of it as the client takes, up to `FLOOD_BYTES`. */
function flood(socket: Socket, state: HostileRelp): void {
  socket.write('1 rsp 900000000 ')
  const chunk = Buffer.alloc(64 * 1024, 0x61)
  let sent = 0
  const pump = (): void => {
    while (sent < FLOOD_BYTES && !socket.destroyed) {
      sent += chunk.length
      const more = socket.write(chunk, (err) => {
        if (!err) state.written += chunk.length
      })
      if (!more) return void socket.once('drain', pump)
    }
  }
  pump()
}

function passThrough(socket: Socket, upstreamPort: number, sockets: Set<Socket>): void {
  const upstream = connect(upstreamPort, '127.0.0.1')
  sockets.add(upstream)
  upstream.on('close', () => {
    sockets.delete(upstream)
    socket.destroy()
  })
  upstream.on('error', () => socket.destroy())
  socket.on('close', () => upstream.destroy())
  socket.pipe(upstream).pipe(socket)
}
