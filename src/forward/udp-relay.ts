// The UDP half of a forwarder: the first datagram of a flow for another host's address
// ('udp-flow', StackOptions.promiscuous) opens an upstream datagram socket to that
// address; datagrams go both ways until the flow is idle for the stack's
// flowIdleTimeoutMs, which closes the flow's socket, and with it the upstream one.
// Beyond maxFlows, or where the upstream carries no UDP, the flow is refused: ICMP port
// unreachable from the destination (ICMPv6 for an IPv6 flow, RFC 4443 3.1 code 4). An IPv6
// flow goes upstream on a udp6 socket, an IPv4 one on udp4.

import type { Stack } from '../stack/stack.js'
import type { UdpFlow } from '../stack/udp/flow.js'
import type { UdpSocket } from '../stack/udp/socket.js'
import { outsideLoopback, type Endpoint, type Upstream, type UpstreamDatagrams } from './upstream.js'

export interface ForwardedFlow {
  client: Endpoint
  destination: Endpoint
  upstreamLocal: Endpoint | null
  /** Where the upstream socket sends: the destination, or the SOCKS5 proxy's relay. */
  upstreamRemote: Endpoint | null
  datagramsUp: number
  datagramsDown: number
}

export interface UdpRelayCounters {
  flows: number
  refusedFull: number
  /** Refused for a destination in 0.0.0.0/8 or 127.0.0.0/8, or ::, ::1: our own loopback. */
  refusedLoopback: number
  /** Refused because the upstream carries no UDP, or cannot send there (dgram throws on port 0). */
  refusedUpstream: number
}

interface Entry {
  info: ForwardedFlow
  up: UpstreamDatagrams
  close(): void
}

export class UdpRelay {
  readonly counters: UdpRelayCounters = { flows: 0, refusedFull: 0, refusedLoopback: 0, refusedUpstream: 0 }
  private readonly entries = new Set<Entry>()
  private closed = false

  constructor(stack: Stack, private readonly upstream: Upstream, private readonly maxFlows: number) {
    stack.on('udp-flow', (flow: UdpFlow) => this.onFlow(flow))
  }

  get size(): number {
    return this.entries.size
  }

  flows(): ForwardedFlow[] {
    return [...this.entries].map(e => ({ ...e.info, upstreamLocal: e.up.local(), upstreamRemote: e.up.remote() }))
  }

  /** Decided before it returns, as the hook asks. */
  private onFlow(flow: UdpFlow): void {
    if (this.closed) return flow.refuse()
    if (this.entries.size >= this.maxFlows) {
      this.counters.refusedFull++
      return flow.refuse()
    }
    if (!outsideLoopback(flow.localAddress)) {
      this.counters.refusedLoopback++
      return flow.refuse()
    }
    const info: ForwardedFlow = {
      client: { address: flow.remoteAddress, port: flow.remotePort },
      destination: { address: flow.localAddress, port: flow.localPort },
      upstreamLocal: null, upstreamRemote: null, datagramsUp: 0, datagramsDown: 0,
    }
    let socket: UdpSocket | null = null
    let up: UpstreamDatagrams | null
    try {
      up = this.upstream.openDatagrams(flow.localAddress, flow.localPort, message => {
        info.datagramsDown++
        try {
          socket?.send(message)
        } catch {
          // the flow closed (idle) while this reply was on its way: dropped
        }
      })
    } catch {
      up = null // a destination the upstream cannot send to (dgram throws on port 0, say)
    }
    if (up === null) {
      this.counters.refusedUpstream++
      return flow.refuse()
    }
    const accepted = flow.accept()
    socket = accepted
    const entry: Entry = { info, up, close: () => accepted.close() }
    this.entries.add(entry)
    this.counters.flows++
    const upstream = up
    accepted.on('message', (message: Buffer) => {
      info.datagramsUp++
      upstream.send(message)
    })
    accepted.on('error', () => {}) // an ICMP error from the client's side: the flow goes on
    accepted.on('close', () => {
      upstream.close()
      this.entries.delete(entry)
    })
  }

  /** Refuse new flows and close every one. */
  close(): void {
    this.closed = true
    for (const entry of this.entries) entry.close()
  }
}
