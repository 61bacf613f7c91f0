// Where a forwarder re-originates what the stack ended: the Upstream interface, and the
// direct one, Node's own kernel sockets (net and dgram) in the forwarder's network namespace,
// of the destination's family (IPv4 or IPv6), as slirp4netns does. socks.ts is the other: through a SOCKS5 proxy.

import { createSocket, type Socket as DgramSocket } from 'node:dgram'
import { isIPv6, connect as netConnect } from 'node:net'
import type { Duplex } from 'node:stream'
import { unmappedV4 } from '../stack/wire/address.js'
import { formatAddress } from '../stack/wire/ipv4.js'
import { formatAddressV6, parseAddressV6 } from '../stack/wire/ipv6.js'

/** One end of a connection or flow: address and port. */
export interface Endpoint {
  address: string
  port: number
}

/** An upstream TCP connection, connected. */
export interface UpstreamConnection {
  /** The byte stream; a half-open one (allowHalfOpen), so that a FIN each way passes on alone. */
  socket: Duplex
  /** The upstream socket's own end and its peer (for a proxy: the proxy), as `ss` shows them. */
  local: Endpoint
  remote: Endpoint
}

/** An upstream datagram socket, connected to one destination. */
export interface UpstreamDatagrams {
  send(message: Uint8Array): void
  close(): void
  /** The upstream socket's own end, once bound (null before). */
  local(): Endpoint | null
  /** Where its datagrams go: the destination, or a proxy's relay address (null until known). */
  remote(): Endpoint | null
}

export interface Upstream {
  /** How `tuntcp ss` and the banner name it: 'direct', 'socks5 127.0.0.1:1080'. */
  readonly name: string
  /** Connect to host:port; rejects with an error whose `code` says why (ECONNREFUSED, ETIMEDOUT, ...). */
  connect(host: string, port: number, signal: AbortSignal): Promise<UpstreamConnection>
  /** Datagrams to and from host:port (each reply goes to `onMessage`), or null when this upstream carries no UDP. */
  openDatagrams(host: string, port: number, onMessage: (message: Buffer) => void): UpstreamDatagrams | null
}

/**
 * May a client ask us to connect there? Not 0.0.0.0/8 ("this host": a connect to 0.0.0.0 reaches
 * our own loopback) nor 127.0.0.0/8; for IPv6 not :: (unspecified, RFC 4291 2.5.2: a connect to
 * it reaches our loopback too) nor ::1 (2.5.3), nor those two IPv4 ranges IPv4-mapped
 * (::ffff:127.0.0.1, 2.5.5.2: an IPv6 socket connects to the IPv4 address). No client's kernel
 * sends those on a link, so such a packet is crafted, and would reach the forwarder's own local
 * services (slirp4netns refuses them too unless asked).
 */
export function outsideLoopback(address: string): boolean {
  if (!isIPv6(address)) return outsideLoopback4(address)
  const b = parseAddressV6(address)
  if (b === null) return false
  if (b.subarray(0, 15).every(x => x === 0) && b[15]! <= 1) return false // :: and ::1
  const v4 = unmappedV4(formatAddressV6(b))
  return v4 === null || outsideLoopback4(formatAddress(v4))
}

function outsideLoopback4(address: string): boolean {
  const first = Number(address.split('.')[0])
  return first !== 0 && first !== 127
}

/** Resolve once `socket` emits 'connect', reject on 'error' or when `signal` aborts (the socket is destroyed). */
export function connected<S extends Duplex>(socket: S, signal: AbortSignal): Promise<S> {
  return new Promise((resolve, reject) => {
    const abort = () => {
      socket.destroy()
      reject(Object.assign(new Error('upstream connect timed out'), { code: 'ETIMEDOUT' }))
    }
    if (signal.aborted) return abort()
    signal.addEventListener('abort', abort, { once: true })
    socket.once('connect', () => {
      signal.removeEventListener('abort', abort)
      socket.removeListener('error', reject)
      resolve(socket)
    })
    socket.once('error', error => {
      signal.removeEventListener('abort', abort)
      reject(error)
    })
  })
}

/** Kernel sockets of the forwarder's own namespace. */
export class DirectUpstream implements Upstream {
  readonly name = 'direct'

  async connect(host: string, port: number, signal: AbortSignal): Promise<UpstreamConnection> {
    // An IPv6 destination is an IPv6 socket (family 6), an IPv4 one an IPv4 socket: as the client asked.
    const socket = await connected(netConnect({ host, port, family: isIPv6(host) ? 6 : 4, allowHalfOpen: true }), signal)
    return {
      socket,
      local: { address: socket.localAddress ?? '', port: socket.localPort ?? 0 },
      remote: { address: socket.remoteAddress ?? host, port: socket.remotePort ?? port },
    }
  }

  openDatagrams(host: string, port: number, onMessage: (message: Buffer) => void): UpstreamDatagrams {
    const socket: DgramSocket = createSocket(isIPv6(host) ? 'udp6' : 'udp4')
    socket.on('message', message => onMessage(message))
    // A port unreachable from upstream comes back as an 'error' on a connected socket: the flow
    // goes on (as the client's own socket would), so it is only swallowed here.
    socket.on('error', () => {})
    socket.connect(port, host) // dgram queues what is sent before the connect completes
    let open = true
    const remote = { address: host, port }
    return {
      send: message => { if (open) socket.send(message) },
      close: () => {
        if (!open) return
        open = false
        socket.close()
      },
      local: () => {
        try {
          const a = socket.address()
          return { address: a.address, port: a.port }
        } catch {
          return null // not bound yet
        }
      },
      remote: () => remote,
    }
  }
}
