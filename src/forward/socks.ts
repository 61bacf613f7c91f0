// The SOCKS5 upstream (RFC 1928), with the `socks` package (a well-kept client, not our own):
// every TCP connection is a CONNECT through the proxy, whose reply decides the client's fate
// (success completes the client's handshake, a refusal or any failure is a RST). Every UDP flow
// is a UDP ASSOCIATE (RFC 1928 7): a control connection held open for the flow's life, and a
// datagram socket that sends each datagram to the proxy's relay address inside a SOCKS UDP
// header naming the destination, and takes the replies out of theirs. An IPv6 destination is
// named in the IPv6 form (ATYP 4, RFC 1928 5) in both; the library writes it from the text.

import { createSocket } from 'node:dgram'
import { isIPv6, type Socket as NetSocket } from 'node:net'
import { SocksClient, type SocksRemoteHost } from 'socks'
import { formatAddressV6, parseAddressV6 } from '../stack/wire/ipv6.js'
import type { Endpoint, Upstream, UpstreamConnection, UpstreamDatagrams } from './upstream.js'

/** How long the proxy may take to answer a CONNECT or an ASSOCIATE. */
const SOCKS_TIMEOUT_MS = 10_000

/** Datagrams held while the association is made; more are dropped, as a full socket buffer would. */
const ASSOCIATE_QUEUE = 64

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

  openDatagrams(host: string, port: number, onMessage: (message: Buffer) => void): UpstreamDatagrams {
    // Our datagrams go to the proxy's relay: a socket of the proxy's family, whatever the destination's.
    const udp = createSocket(isIPv6(this.proxy.address) ? 'udp6' : 'udp4')
    let open = true
    let control: NetSocket | null = null
    let relay: SocksRemoteHost | null = null
    const waiting: Uint8Array[] = []
    const close = () => {
      if (!open) return
      open = false
      udp.close()
      control?.destroy() // the association ends with its control connection (RFC 1928 7)
    }
    const sendFrame = (data: Uint8Array) => {
      const frame = SocksClient.createUDPFrame({ remoteHost: { host, port }, data: Buffer.from(data) })
      udp.send(frame, relay!.port, relay!.host)
    }
    udp.on('error', () => {})
    udp.on('message', (message, rinfo) => {
      if (relay === null || rinfo.address !== relay.host || rinfo.port !== relay.port) return // only the relay speaks for the flow
      try {
        onMessage(SocksClient.parseUDPFrame(message).data)
      } catch {
        // not a SOCKS UDP frame: dropped
      }
    })
    const association = new SocksClient({
      proxy: { host: this.proxy.address, port: this.proxy.port, type: 5 },
      command: 'associate',
      // Where we will send from is not known before the reply: 0.0.0.0:0 (or [::]:0), as RFC 1928 7 allows.
      destination: { host: isIPv6(this.proxy.address) ? '::' : '0.0.0.0', port: 0 },
      timeout: SOCKS_TIMEOUT_MS,
    })
    association.on('error', close)
    association.on('established', ({ socket, remoteHost }) => {
      control = socket
      if (!open) return socket.destroy()
      socket.on('error', close)
      socket.on('close', close)
      // A relay address of 0.0.0.0 (or ::) means the proxy's own address.
      const host = remoteHost === undefined ? '0.0.0.0' : rfc5952(remoteHost.host)
      const relayHost = host === '0.0.0.0' || host === '::' ? this.proxy.address : host
      relay = { host: relayHost, port: remoteHost?.port ?? this.proxy.port }
      for (const data of waiting.splice(0)) sendFrame(data)
    })
    udp.bind(0, () => { if (open) association.connect() })
    return {
      send: data => {
        if (!open) return
        if (relay !== null) sendFrame(data)
        else if (waiting.length < ASSOCIATE_QUEUE) waiting.push(data)
      },
      close,
      local: () => {
        try {
          const a = udp.address()
          return { address: a.address, port: a.port }
        } catch {
          return null
        }
      },
      remote: () => (relay === null ? null : { address: relay.host, port: relay.port }),
    }
  }
}

/**
 * An IPv6 address as dgram's rinfo spells it (RFC 5952: '::1'); the library gives a reply's in
 * full ('0000:...:0001'). IPv4 and names unchanged.
 */
function rfc5952(host: string): string {
  const bytes = isIPv6(host) ? parseAddressV6(host) : null
  return bytes === null ? host : formatAddressV6(bytes)
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
