import { createSocket } from 'node:dgram'
import { createServer } from 'node:net'

/**
 * A loopback port that was free a moment ago: bound on 127.0.0.1 port 0, read, released.
 * Another process may take it before the caller binds it; tests that need several pass `avoid`,
 * since the kernel may hand out a just-closed port again.
 */
export async function getFreePort(
  kind: 'tcp' | 'udp' = 'tcp',
  avoid: readonly number[] = [],
): Promise<number> {
  for (;;) {
    const port = kind === 'udp' ? await bindUdp() : await bindTcp()
    if (!avoid.includes(port)) return port
  }
}

/** A loopback TCP port with nothing listening on it: connections to it are refused. */
export function getDeadPort(): Promise<number> {
  return getFreePort('tcp')
}

async function bindTcp(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) =>
    server.once('error', reject).listen(0, '127.0.0.1', resolve),
  )
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

async function bindUdp(): Promise<number> {
  const socket = createSocket('udp4')
  await new Promise<void>((resolve, reject) =>
    socket.once('error', reject).bind(0, '127.0.0.1', resolve),
  )
  const { port } = socket.address()
  await new Promise<void>((resolve) => socket.close(() => resolve()))
  return port
}
