// A forwarder: a promiscuous Stack whose every TCP connection and UDP flow, to any
// address, is carried upstream (upstream.ts: kernel sockets; socks.ts: a SOCKS5 proxy).
// Pings are answered by the stack itself (Node has no ICMP socket to relay them with).
// What `tuntcp forward` runs on its TUN device; a library user can run it on any link.

import type { Stack } from '../stack/stack.js'
import { TcpRelay, type ForwardedConnection, type TcpRelayCounters } from './tcp-relay.js'
import { UdpRelay, type ForwardedFlow, type UdpRelayCounters } from './udp-relay.js'
import type { Upstream } from './upstream.js'

export interface ForwarderOptions {
  /** Most TCP connections open or connecting at once (default 4096); beyond, a SYN gets RST. */
  maxConnections?: number
  /** Most UDP flows at once (default 1024); beyond, ICMP port unreachable. */
  maxFlows?: number
  /** How long an upstream TCP connect may take before the client gets RST (default 10000 ms). */
  connectTimeoutMs?: number
}

export const DEFAULT_FORWARDER = { maxConnections: 4096, maxFlows: 1024, connectTimeoutMs: 10_000 }

export class Forwarder {
  readonly tcp: TcpRelay
  readonly udp: UdpRelay

  /** `stack` must be made with `promiscuous: true`; its udp.maxFlows should be above maxFlows (the relay refuses first). */
  constructor(readonly stack: Stack, readonly upstream: Upstream, options: ForwarderOptions = {}) {
    const o = { ...DEFAULT_FORWARDER, ...options }
    this.tcp = new TcpRelay(stack, upstream, { maxConnections: o.maxConnections, connectTimeoutMs: o.connectTimeoutMs })
    this.udp = new UdpRelay(stack, upstream, o.maxFlows)
  }

  connections(): ForwardedConnection[] {
    return this.tcp.connections()
  }

  flows(): ForwardedFlow[] {
    return this.udp.flows()
  }

  counters(): { tcp: TcpRelayCounters; udp: UdpRelayCounters } {
    return { tcp: this.tcp.counters, udp: this.udp.counters }
  }

  /** Take no new connection or flow, FIN every upstream connection, close every flow; then `stack.shutdown()` ends the clients. */
  close(): void {
    this.tcp.close()
    this.udp.close()
  }
}
