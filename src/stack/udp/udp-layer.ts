// The UDP layer (RFC 768, RFC 1122 4.1): which socket a datagram is for, ephemeral
// ports, sending, and the flows of any-destination mode.
//
// A datagram goes to the first of:
//   1. a flow, by its 4-tuple: a socket the 'udp-flow' hook accepted for one client and
//      one destination (any-destination mode, StackOptions.promiscuous);
//   2. a socket bound to the datagram's destination address and port, or, for our own
//      address, to the port on every address of that family (0.0.0.0, ::), that is not connected to
//      another peer (a connected socket takes only its peer's datagrams, as Linux's);
//   3. in any-destination mode, for another host's unicast address, the hook, which may open a flow;
//   4. nobody: ICMP port unreachable (RFC 1122 4.1.3.1), sent by the IP layer.
// Flows are bounded in number and end after an idle time on the timer wheel. Addresses are
// of either family (wire/address.ts); an IPv4 socket ('udp4') and an IPv6 one ('udp6') never
// share datagrams: a 'udp6' socket is IPv6-only (as Node's with ipv6Only).

/** "Every address" of each family, as a socket's localAddr. */
export const ANY_V4 = 0
export const ANY_V6 = '::'

/** Is this "every address" of its family? */
export function isAny(a: Address): boolean {
  return a === ANY_V4 || a === ANY_V6
}

import type { Counters } from '../counters.js'
import type { IcmpError } from '../ip/icmp-errors.js'
import { udpErrorCode } from './icmp.js'
import type { UdpVerdict } from '../ip/ip-layer.js'
import type { Random } from '../random.js'
import type { Clock } from '../time/clock.js'
import { Timer, type TimerWheel } from '../time/timer-wheel.js'
import { isMulticast, isV6, type Address } from '../wire/address.js'
import { buildUdpPacket, type UdpDatagram } from '../wire/udp.js'

/** RFC 6056's suggested ephemeral range is 49152-65535; as Linux (and our TCP), 32768-60999. */
const EPHEMERAL_LOW = 32768
const EPHEMERAL_HIGH = 60999

export interface UdpConfig {
  /** A flow with no datagram either way for this long is closed. Default 60 s (Linux's conntrack: 30 s, 120 s once both sides spoke). */
  flowIdleTimeoutMs: number
  /** Most flows open at once; the first datagram of one more is dropped (counted as udp-flow-limit). Default 4096. */
  maxFlows: number
  /** A socket's receive queue, in bytes, unless setRecvBufferSize says otherwise. Default 212992 (Linux's rmem_default). */
  recvBufferSize: number
}

export const DEFAULT_UDP_CONFIG: UdpConfig = { flowIdleTimeoutMs: 60_000, maxFlows: 4096, recvBufferSize: 212_992 }

/** What the layer needs of a socket (udp/socket.ts implements it). */
export interface UdpEndpoint {
  /** Bound address, ANY_V4 (0.0.0.0) or ANY_V6 (::) for every address of the family; port 0 while unbound. */
  localAddr: Address
  localPort: number
  /** The peer of a connected socket; port 0 when not connected. */
  remoteAddr: Address
  remotePort: number
  /** A datagram for it (copy the data: the buffer is the link's). False: its receive queue is full. */
  deliver(data: Uint8Array, srcAddr: Address, srcPort: number): boolean
  /** A hard ICMP error about a datagram it sent, as an errno code (ECONNREFUSED); only on a connected socket. */
  icmpError(code: string): void
  /** Its flow ended for idleness: close. */
  expire(): void
}

/** The first datagram of a new flow, for the hook: who sent it, to which address and port. */
export interface FlowTuple {
  localAddr: Address
  localPort: number
  remoteAddr: Address
  remotePort: number
}

/** The hook's answer: 'accepted' (it opened the flow with openFlow), refuse (port unreachable) or drop. */
export type FlowVerdict = 'accepted' | 'refuse' | 'drop'

export interface UdpLayerOptions {
  address: number
  /** Our IPv6 address (RFC 5952 text), or null. */
  address6?: string | null
  promiscuous: boolean
  /** The link's MTU: no datagram we send is larger (we never fragment). */
  mtu: number
  config: UdpConfig
  counters: Counters
  random: Random
  wheel: TimerWheel
  clock: Clock
  output(packet: Uint8Array): void
  /** A datagram for another host's address that no socket or flow takes (any-destination mode). */
  onNewFlow(tuple: FlowTuple, size: number): FlowVerdict
}

/** One flow: its socket and its idle timer (reset lazily: each datagram only notes the time). */
class Flow extends Timer {
  lastActive: number
  constructor(readonly endpoint: UdpEndpoint, readonly key: number | string, readonly localKey: number | string, now: number, onIdle: (flow: Flow) => void) {
    super(() => onIdle(this))
    this.lastActive = now
  }
}

/** addr:port as one Map key: for IPv4 a number below 2^48, which allocates nothing; for IPv6 a string. */
const key = (addr: Address, port: number): number | string => typeof addr === 'number' ? addr * 65536 + port : `${addr}#${port}`

export class UdpLayer {
  /** Bound sockets by port; a few per port at most (one per address). */
  private readonly bound = new Map<number, UdpEndpoint[]>()
  /** Flows by remote addr:port, then local addr:port. */
  private readonly flows = new Map<number | string, Map<number | string, Flow>>()
  private readonly flowOf = new Map<UdpEndpoint, Flow>()
  /** Every open socket, bound or not (Stack.shutdown closes them). */
  readonly sockets = new Set<{ close(): unknown }>()

  constructor(private readonly opts: UdpLayerOptions) {}

  get mtu(): number {
    return this.opts.mtu
  }

  get config(): UdpConfig {
    return this.opts.config
  }

  // ---- binding ----

  /**
   * Bind `ep` to addr:port (port 0: an ephemeral one). Returns the error code a kernel's
   * bind(2) would give, or null. Our address (of either family), 0.0.0.0 or ::; any address
   * in promiscuous mode.
   */
  bind(ep: UdpEndpoint, addr: Address, port: number): 'EADDRINUSE' | 'EADDRNOTAVAIL' | null {
    if (!isAny(addr) && !this.isLocal(addr) && !this.opts.promiscuous) return 'EADDRNOTAVAIL'
    if (addr === ANY_V6 && (this.opts.address6 ?? null) === null) return 'EADDRNOTAVAIL'
    if (port === 0) {
      const free = this.freePort(addr)
      if (free === null) return 'EADDRINUSE'
      port = free
    } else if (this.taken(addr, port)) {
      return 'EADDRINUSE'
    }
    ep.localAddr = addr
    ep.localPort = port
    const list = this.bound.get(port)
    if (list) list.push(ep)
    else this.bound.set(port, [ep])
    return null
  }

  /** Forget a socket: its binding, its flow. */
  unbind(ep: UdpEndpoint): void {
    const list = this.bound.get(ep.localPort)
    const i = list?.indexOf(ep) ?? -1
    if (i >= 0) {
      list!.splice(i, 1)
      if (list!.length === 0) this.bound.delete(ep.localPort)
    }
    const flow = this.flowOf.get(ep)
    if (flow !== undefined) {
      this.flowOf.delete(ep)
      this.opts.wheel.disarm(flow)
      const inner = this.flows.get(flow.key)!
      inner.delete(flow.localKey)
      if (inner.size === 0) this.flows.delete(flow.key)
    }
  }

  /**
   * Is addr:port in use? "Every address" and a specific address of the same family on one
   * port clash, as on Linux without SO_REUSEADDR (an IPv6-only socket leaves IPv4 alone).
   */
  private taken(addr: Address, port: number): boolean {
    return this.bound.get(port)?.some(ep => ep.localAddr === addr ||
      (isV6(ep.localAddr) === isV6(addr) && (isAny(ep.localAddr) || isAny(addr)))) ?? false
  }

  /** One of our own addresses (IPv4 or IPv6)? */
  private isLocal(a: Address): boolean {
    return a === this.opts.address || (this.opts.address6 != null && a === this.opts.address6)
  }

  /** RFC 6056 3.3.1 (as our TCP): from a random point of the range, the first free port. */
  private freePort(addr: Address): number | null {
    const range = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1
    const start = this.opts.random.nextUint32() % range
    for (let i = 0; i < range; i++) {
      const port = EPHEMERAL_LOW + ((start + i) % range)
      if (!this.taken(addr, port)) return port
    }
    return null
  }

  // ---- flows ----

  /** Open a flow for `ep`, bound to the tuple's destination and connected to its source (the hook's accept). */
  openFlow(ep: UdpEndpoint, t: FlowTuple): void {
    Object.assign(ep, t)
    const flow = new Flow(ep, key(t.remoteAddr, t.remotePort), key(t.localAddr, t.localPort), this.opts.clock.now(), f => this.idle(f))
    let inner = this.flows.get(flow.key)
    if (!inner) this.flows.set(flow.key, inner = new Map())
    inner.set(flow.localKey, flow)
    this.flowOf.set(ep, flow)
    this.opts.counters.udpFlowsAccepted++
    this.opts.wheel.arm(flow, this.opts.config.flowIdleTimeoutMs)
  }

  /** The idle timer fired: close the flow if it was quiet the whole time, else wait out the rest. */
  private idle(flow: Flow): void {
    const quiet = this.opts.clock.now() - flow.lastActive
    const left = this.opts.config.flowIdleTimeoutMs - quiet
    if (left > 0) return this.opts.wheel.arm(flow, left)
    this.opts.counters.udpFlowsExpired++
    flow.endpoint.expire()
  }

  private findFlow(localAddr: Address, localPort: number, remoteAddr: Address, remotePort: number): Flow | undefined {
    return this.flows.get(key(remoteAddr, remotePort))?.get(key(localAddr, localPort))
  }

  // ---- datagram arrives ----

  /** A datagram from src to dst, of either family (the IP layer parsed it). */
  input(src: Address, dst: Address, d: UdpDatagram): UdpVerdict {
    const { counters } = this.opts
    counters.udpDatagramsIn++
    const flow = this.findFlow(dst, d.dstPort, src, d.srcPort)
    if (flow !== undefined) {
      flow.lastActive = this.opts.clock.now()
      return this.deliver(flow.endpoint, src, d)
    }
    const ep = this.socketFor(dst, d.dstPort, src, d.srcPort)
    if (ep !== undefined) return this.deliver(ep, src, d)
    if (!this.isLocal(dst)) return this.newFlow(src, dst, d)
    counters.drop('udp-no-port')
    return 'port-unreachable'
  }

  /** Step 2 above: the bound socket for dst:port (exact address before 0.0.0.0 or ::) that would take a datagram from src:srcPort. */
  private socketFor(dst: Address, port: number, src: Address, srcPort: number): UdpEndpoint | undefined {
    let best: UdpEndpoint | undefined
    const any = isV6(dst) ? ANY_V6 : ANY_V4
    for (const ep of this.bound.get(port) ?? []) {
      if (ep.remotePort !== 0 && (ep.remoteAddr !== src || ep.remotePort !== srcPort)) continue
      if (ep.localAddr === dst) return ep
      if (ep.localAddr === any && this.isLocal(dst)) best = ep
    }
    return best
  }

  /** Step 3: a datagram for another host; the hook decides, within the bound on flows. */
  private newFlow(src: Address, dst: Address, d: UdpDatagram): UdpVerdict {
    const { counters } = this.opts
    // A flow's socket answers from the destination, and no host may send from a multicast or
    // broadcast address (RFC 1122 3.2.1.3): such datagrams start no flow.
    if (isMulticast(dst)) {
      counters.drop('udp-not-unicast')
      return 'dropped'
    }
    if (this.flowOf.size >= this.opts.config.maxFlows) {
      counters.drop('udp-flow-limit')
      return 'dropped'
    }
    const tuple = { localAddr: dst, localPort: d.dstPort, remoteAddr: src, remotePort: d.srcPort }
    const verdict = this.opts.onNewFlow(tuple, d.payload.length)
    const flow = verdict === 'accepted' ? this.findFlow(dst, d.dstPort, src, d.srcPort) : undefined
    if (flow !== undefined) return this.deliver(flow.endpoint, src, d)
    if (verdict === 'drop') {
      counters.drop('udp-flow-dropped')
      return 'dropped'
    }
    counters.drop('udp-flow-refused')
    return 'port-unreachable'
  }

  private deliver(ep: UdpEndpoint, src: Address, d: UdpDatagram): UdpVerdict {
    if (ep.deliver(d.payload, src, d.srcPort)) return 'delivered'
    this.opts.counters.drop('udp-receive-queue-full') // Linux's RcvbufErrors
    return 'dropped'
  }

  // ---- datagram goes out ----

  /** Send `data` from ep's address (ours of dst's family for 0.0.0.0 or ::: we have one of each) and port. */
  send(ep: UdpEndpoint, data: Uint8Array, dst: Address, dstPort: number, ttl?: number): void {
    const flow = this.flowOf.get(ep)
    if (flow !== undefined) flow.lastActive = this.opts.clock.now()
    const src = !isAny(ep.localAddr) ? ep.localAddr : isV6(dst) ? this.opts.address6 : this.opts.address
    if (src == null || isV6(src) !== isV6(dst)) return this.opts.counters.drop('udp-no-local-address')
    this.opts.counters.udpDatagramsOut++
    this.opts.output(buildUdpPacket({ src, dst, srcPort: ep.localPort, dstPort, payload: data, ttl }))
  }

  // ---- ICMP error about a datagram we sent ----

  /** Reported to a connected socket if hard (udp/icmp.ts), else counted: an unconnected one cannot tell whose it is. */
  icmpError(err: IcmpError): void {
    const { counters } = this.opts
    const ep = this.findFlow(err.localAddr, err.localPort, err.remoteAddr, err.remotePort)?.endpoint ??
      this.socketFor(err.localAddr, err.localPort, err.remoteAddr, err.remotePort)
    if (ep === undefined) return counters.drop('udp-icmp-no-socket')
    if (ep.remotePort === 0) return counters.drop('udp-icmp-not-connected')
    const code = udpErrorCode(err)
    if (code === null) return counters.drop('udp-icmp-soft')
    counters.udpIcmpErrors++
    ep.icmpError(code)
  }
}
