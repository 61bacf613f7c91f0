// The TCP layer: finds the TCB for each arriving segment (demultiplexing),
// runs LISTEN (RFC 9293 3.10.7.2) and CLOSED (3.10.7.1) for segments that have
// no TCB, opens connections, and builds outgoing segments into IP packets.

import type { Clock } from '../time/clock'
import type { TimerWheel } from '../time/timer-wheel'
import type { Counters } from '../counters'
import type { Random } from '../random'
import { ACK, FIN, RST, SYN, buildTcpPacket, type TcpSegment } from '../wire/tcp'
import type { TcpConfig } from './config'
import { segmentArrives, takeMss } from './input'
import { IsnGenerator } from './isn'
import { sendSyn } from './output'
import { seqAdd, seqGt } from './seq'
import type { State } from './state'
import { Tcb, type OutSegment, type TcpHost } from './tcb'
import { enterClosed, onCloseTimer, onDelayedAck, onKeepalive, onPersist, onRetransmitTimeout } from './timers'
import { openActive } from './user'

/** A passive OPEN: the LISTEN state of one port. */
export interface Listener {
  readonly port: number
  /** Connections still in SYN-RECEIVED (the SYN queue). */
  synReceived: number
  /** A connection reached ESTABLISHED. */
  onAccept(tcb: Tcb): void
}

export interface TcpLayerOptions {
  address: number
  mtu: number
  clock: Clock
  wheel: TimerWheel
  random: Random
  config: TcpConfig
  counters: Counters
  /** With segmentation offload on the link: the largest TCP payload of one packet we send. */
  tsoMaxPayload?: number | undefined
  /** Send one IP packet; `segmentSize`: the link cuts it into segments of that size (TSO). */
  output(packet: Uint8Array, segmentSize?: number): void
  /** Every state change of every connection. */
  onStateChange(tcb: Tcb, from: State, to: State, cause: string): void
}

export type SegmentTrace = (dir: 'in' | 'out', src: number, dst: number, seg: TcpSegment) => void

const EPHEMERAL_LOW = 32768 // Linux's ip_local_port_range
const EPHEMERAL_HIGH = 60999

/** Connections by (local port, remote port, remote address); the local address is the stack's one. */
class ConnectionTable {
  private readonly byPorts = new Map<number, Map<number, Tcb>>()
  size = 0

  get(localPort: number, remoteAddr: number, remotePort: number): Tcb | undefined {
    return this.byPorts.get(localPort * 65536 + remotePort)?.get(remoteAddr)
  }

  add(tcb: Tcb): void {
    const key = tcb.localPort * 65536 + tcb.remotePort
    let byAddr = this.byPorts.get(key)
    if (byAddr === undefined) this.byPorts.set(key, (byAddr = new Map()))
    if (!byAddr.has(tcb.remoteAddr)) this.size++
    byAddr.set(tcb.remoteAddr, tcb)
  }

  delete(tcb: Tcb): void {
    const key = tcb.localPort * 65536 + tcb.remotePort
    const byAddr = this.byPorts.get(key)
    if (byAddr?.get(tcb.remoteAddr) !== tcb) return
    byAddr.delete(tcb.remoteAddr)
    this.size--
    if (byAddr.size === 0) this.byPorts.delete(key)
  }

  *[Symbol.iterator](): IterableIterator<Tcb> {
    for (const byAddr of this.byPorts.values()) yield* byAddr.values()
  }
}

export class TcpLayer implements TcpHost {
  readonly clock: Clock
  readonly wheel: TimerWheel
  readonly config: TcpConfig
  readonly counters: Counters
  readonly connections = new ConnectionTable()
  /** Set to see every segment in and out (for --trace). */
  trace: SegmentTrace | null = null
  private readonly listeners = new Map<number, Listener>()
  private readonly isn: IsnGenerator
  private readonly address: number
  private readonly mtu: number
  private readonly random: Random
  private readonly sendPacket: (packet: Uint8Array, segmentSize?: number) => void
  /** The largest payload one segment may carry before it is cut (TSO), 0 without offload. */
  readonly tsoMaxPayload: number
  private readonly onStateChange: TcpLayerOptions['onStateChange']

  constructor(opts: TcpLayerOptions) {
    this.address = opts.address
    this.mtu = opts.mtu
    this.clock = opts.clock
    this.wheel = opts.wheel
    this.random = opts.random
    this.config = opts.config
    this.counters = opts.counters
    this.sendPacket = opts.output
    this.tsoMaxPayload = opts.tsoMaxPayload ?? 0
    this.onStateChange = opts.onStateChange
    this.isn = new IsnGenerator(opts.clock, opts.random)
  }

  // ---- user side ----

  listen(listener: Listener): boolean {
    if (this.listeners.has(listener.port)) return false
    this.listeners.set(listener.port, listener)
    return true
  }

  unlisten(listener: Listener): void {
    if (this.listeners.get(listener.port) === listener) this.listeners.delete(listener.port)
  }

  /** A TCB for an active OPEN (CLOSED until open() runs), on an ephemeral port unless one is given. */
  createActive(remoteAddr: number, remotePort: number, localPort?: number): Tcb {
    const port = localPort ?? this.ephemeralPort(remoteAddr, remotePort)
    if (this.connections.get(port, remoteAddr, remotePort) !== undefined) {
      throw Object.assign(new Error(`address in use: port ${port} to that peer`), { code: 'EADDRINUSE' })
    }
    const tcb = this.newTcb(port, remoteAddr, remotePort)
    this.connections.add(tcb)
    return tcb
  }

  /** Active OPEN (RFC 9293 3.10.1): send the SYN. */
  open(tcb: Tcb): void {
    this.counters.activeOpens++
    openActive(tcb, this.isn.next(this.address, tcb.localPort, tcb.remoteAddr, tcb.remotePort), this.mtu)
  }

  // ---- segment arrives ----

  input(src: number, dst: number, seg: TcpSegment): void {
    this.counters.segmentsIn++
    this.trace?.('in', src, dst, seg)
    const tcb = this.connections.get(seg.dstPort, src, seg.srcPort)
    if (tcb !== undefined) {
      // A new SYN may end a TIME-WAIT early and reopen the connection (RFC 9293 3.10.7.4, RFC 6191).
      if (tcb.state === 'TIME-WAIT' && (seg.flags & (SYN | ACK | RST)) === SYN && seqGt(seg.seq, tcb.rcvNxt)) {
        const listener = this.listeners.get(seg.dstPort)
        if (listener !== undefined) {
          const iss = seqAdd(tcb.sndNxt, 65_535 + 2) // above anything the old incarnation sent
          enterClosed(tcb, null, 'new SYN in TIME-WAIT')
          return this.listenInput(listener, src, seg, iss)
        }
      }
      return segmentArrives(tcb, seg)
    }
    const listener = this.listeners.get(seg.dstPort)
    if (listener !== undefined) return this.listenInput(listener, src, seg)
    this.closedInput(src, seg)
  }

  /** RFC 9293 3.10.7.1: no TCB. Answer anything but a RST with a RST. */
  private closedInput(src: number, seg: TcpSegment): void {
    this.counters.drop('tcp-no-connection')
    if (seg.flags & RST) return
    if (seg.flags & ACK) {
      this.reply(src, seg, seg.ack, 0, RST) // <SEQ=SEG.ACK><CTL=RST>
    } else {
      const segLen = seg.payload.length + (seg.flags & SYN ? 1 : 0) + (seg.flags & FIN ? 1 : 0)
      this.reply(src, seg, 0, seqAdd(seg.seq, segLen), RST | ACK) // <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
    }
  }

  /** RFC 9293 3.10.7.2: LISTEN. */
  private listenInput(listener: Listener, src: number, seg: TcpSegment, iss?: number): void {
    if (seg.flags & RST) return this.counters.drop('tcp-listen-rst')
    if (seg.flags & ACK) {
      this.counters.drop('tcp-listen-ack')
      return this.reply(src, seg, seg.ack, 0, RST)
    }
    if (!(seg.flags & SYN)) return this.counters.drop('tcp-listen-no-syn')
    if (listener.synReceived >= this.config.synBacklog) return this.counters.drop('tcp-syn-queue-full')
    if (this.connections.size >= this.config.maxConnections) return this.counters.drop('tcp-too-many-connections')
    const tcb = this.newTcb(seg.dstPort, src, seg.srcPort)
    tcb.passive = true
    tcb.state = 'LISTEN' // this TCB starts as a copy of the listening one
    tcb.irs = seg.seq
    tcb.rcvNxt = seqAdd(seg.seq, 1)
    tcb.rcvAdv = tcb.rcvNxt
    tcb.rcvMss = this.mtu - 40
    takeMss(tcb, seg.options.mss)
    tcb.iss = iss ?? this.isn.next(this.address, tcb.localPort, src, seg.srcPort)
    tcb.sndUna = tcb.iss
    tcb.sndNxt = seqAdd(tcb.iss, 1)
    tcb.bufSeq = tcb.sndNxt
    tcb.sndWnd = seg.window
    this.connections.add(tcb)
    listener.synReceived++
    this.counters.passiveOpens++
    tcb.setState('SYN-RECEIVED', 'SYN received')
    sendSyn(tcb)
    tcb.rttSeq = tcb.sndNxt
    tcb.rttStart = this.clock.now()
    this.wheel.arm(tcb.retransmitTimer, tcb.rtt.rto)
  }

  // ---- TcpHost ----

  transmit(tcb: Tcb, seg: OutSegment): void {
    this.sendSegment(tcb.remoteAddr, tcb.localPort, tcb.remotePort, seg, tcb.sndMss)
  }

  stateChanged(tcb: Tcb, from: State, to: State, cause: string): void {
    if (from === 'SYN-RECEIVED' && tcb.passive) {
      const listener = this.listeners.get(tcb.localPort)
      if (listener !== undefined) listener.synReceived--
    }
    if (to === 'CLOSED') this.connections.delete(tcb)
    this.onStateChange(tcb, from, to, cause)
  }

  accept(tcb: Tcb): void {
    const listener = this.listeners.get(tcb.localPort)
    if (listener === undefined) {
      // The server closed while this connection was opening.
      tcb.host.counters.resetsSent++
      this.transmit(tcb, { seq: tcb.sndNxt, ack: 0, flags: RST, window: 0 })
      return enterClosed(tcb, null, 'listener closed')
    }
    listener.onAccept(tcb)
  }

  // ---- helpers ----

  private newTcb(localPort: number, remoteAddr: number, remotePort: number): Tcb {
    const tcb: Tcb = new Tcb(this, this.address, localPort, remoteAddr, remotePort, {
      retransmit: () => onRetransmitTimeout(tcb),
      delayedAck: () => onDelayedAck(tcb),
      persist: () => onPersist(tcb),
      keepalive: () => onKeepalive(tcb),
      close: () => onCloseTimer(tcb),
    })
    return tcb
  }

  /** A free local port for a connection to (remoteAddr, remotePort), from a random start (RFC 6056). */
  private ephemeralPort(remoteAddr: number, remotePort: number): number {
    const range = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1
    const start = this.random.nextUint32() % range
    for (let i = 0; i < range; i++) {
      const port = EPHEMERAL_LOW + ((start + i) % range)
      if (!this.listeners.has(port) && this.connections.get(port, remoteAddr, remotePort) === undefined) return port
    }
    throw Object.assign(new Error('no free local port'), { code: 'EADDRNOTAVAIL' })
  }

  /** A RST answering a segment that has no TCB. */
  private reply(src: number, seg: TcpSegment, seq: number, ack: number, flags: number): void {
    this.counters.resetsSent++
    this.sendSegment(src, seg.dstPort, seg.srcPort, { seq, ack, flags, window: 0 })
  }

  /** Build and send one segment; one larger than `mss` goes whole to a link that cuts it (TSO). */
  private sendSegment(remoteAddr: number, localPort: number, remotePort: number, seg: OutSegment, mss?: number): void {
    this.counters.segmentsOut++
    const cut = mss !== undefined && (seg.payload?.length ?? 0) > mss
    const packet = buildTcpPacket({
      src: this.address, dst: remoteAddr, srcPort: localPort, dstPort: remotePort,
      seq: seg.seq, ack: seg.ack, flags: seg.flags, window: seg.window,
      options: seg.options, payload: seg.payload, partialChecksum: cut,
    })
    if (this.trace !== null) {
      this.trace('out', this.address, remoteAddr, {
        srcPort: localPort, dstPort: remotePort, seq: seg.seq, ack: seg.ack, headerLength: 20,
        flags: seg.flags, window: seg.window, urgentPointer: 0, options: seg.options ?? {},
        payload: seg.payload ?? new Uint8Array(0),
      })
    }
    this.sendPacket(packet, cut ? mss : undefined)
  }
}
