// The SOCKS5 upstream (RFC 1928): every TCP connection is a CONNECT through the proxy, made
// with the `socks` package (a well-kept client, not our own). The proxy's reply decides the
// client's fate: success completes the client's handshake, a refusal (or any failure) is a RST.
// UDP is not carried (UDP ASSOCIATE is not done yet): a flow is refused with ICMP port
// unreachable rather than sent around the proxy.

import { SocksClient } from 'socks'
import { type Endpoint, type Upstream, type UpstreamConnection, type UpstreamDatagrams } from './upstream.js'

/** How long the proxy may take to answer a CONNECT. */
const SOCKS_TIMEOUT_MS = 10_000

export class Socks5Upstream implements Upstream {
  readonly name: string

  constructor(private readonly proxy: Endpoint) {
    this.name = `socks5 ${proxy.address}:${proxy.port}`
  }

  async connect(host: string, port: number, signal: AbortSignal): Promise<UpstreamConnection> {
    let info
    try {
      info = await SocksClient.createConnection({
        proxy: { host: this.proxy.address, port: this.proxy.port, type: 5 },
        command: 'connect',
        destination: { host, port },
        timeout: SOCKS_TIMEOUT_MS,
      })
    } catch (error) {
      throw Object.assign(new Error((error as Error).message), { code: socksCode((error as Error).message) })
    }
    const socket = info.socket
    if (signal.aborted) {
      socket.destroy()
      throw Object.assign(new Error('upstream connect timed out'), { code: 'ETIMEDOUT' })
    }
    // The library's socket is made without allowHalfOpen: set it, so the far side's FIN passes on alone.
    socket.allowHalfOpen = true
    return {
      socket,
      local: { address: socket.localAddress ?? '', port: socket.localPort ?? 0 },
      remote: { address: socket.remoteAddress ?? this.proxy.address, port: socket.remotePort ?? this.proxy.port },
    }
  }

  openDatagrams(): UpstreamDatagrams | null {
    return null
  }
}

/**
 * Why it failed, as an errno: the library gives only a message. The proxy itself unreachable
 * carries its socket's errno ("connect ECONNREFUSED 127.0.0.1:1080"); the proxy's reply
 * (RFC 1928 6) is worded, and turned into what a kernel connect would give.
 */
export function socksCode(message: string): string {
  const errno = /\b(E[A-Z]{3,})\b/.exec(message)
  if (errno !== null) return errno[1]!
  if (/ConnectionRefused/i.test(message)) return 'ECONNREFUSED'
  if (/HostUnreachable/i.test(message)) return 'EHOSTUNREACH'
  if (/NetworkUnreachable/i.test(message)) return 'ENETUNREACH'
  if (/TTLExpired|timed out|timeout/i.test(message)) return 'ETIMEDOUT'
  return 'ECONNABORTED'
}
