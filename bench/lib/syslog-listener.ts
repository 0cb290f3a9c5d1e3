/**
 * The syslog receiver of the `faultline-all` contender: a UDP socket on
 * loopback in the runner's process (not on the server's core), counting the
 * datagrams it gets.
 */
import { createSocket } from 'node:dgram'

export interface SyslogListener {
  port: number
  /** Datagrams received so far. */
  received(): number
  close(): void
}

export async function startSyslogListener(): Promise<SyslogListener> {
  const socket = createSocket('udp4')
  let count = 0
  socket.on('message', () => count++)
  // a storm sends thousands a second: a large receive buffer keeps the kernel from dropping them while the runner is busy
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(0, '127.0.0.1', () => resolve())
  })
  try {
    socket.setRecvBufferSize(8 * 1024 * 1024)
  } catch {
    // capped by net.core.rmem_max: the default will do
  }
  return {
    port: socket.address().port,
    received: () => count,
    close: () => socket.close(),
  }
}
