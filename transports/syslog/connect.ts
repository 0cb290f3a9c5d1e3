import { isIP, connect as netConnect } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import type { StreamConnection } from '../delivery/stream-connection.js'
import type { ResolvedSyslogOptions } from './options.js'

type Connector = ReturnType<ConstructorParameters<typeof StreamConnection>[0]['connect']>

/** Opens one connection to the receiver: TCP, TLS (RELP's too) or a Unix socket. */
export function connectTo(s: ResolvedSyslogOptions): Connector {
  if (s.protocol === 'tls' || s.protocol === 'relp+tls') {
    const servername = s.tls.servername ?? (isIP(s.host) ? undefined : s.host)
    const { ca, cert, key, rejectUnauthorized } = s.tls
    const socket = tlsConnect({
      host: s.host,
      port: s.port,
      ...(ca ? { ca } : {}),
      ...(cert && key ? { cert, key } : {}),
      ...(servername ? { servername } : {}),
      rejectUnauthorized,
    })
    return { socket, ready: 'secureConnect' }
  }
  const socket = s.protocol === 'unix' ? netConnect(s.path!) : netConnect(s.port, s.host)
  return { socket, ready: 'connect' }
}
