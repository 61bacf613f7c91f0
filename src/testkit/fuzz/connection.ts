// A connection under attack: one stack, driven into a chosen RFC 9293 state by a
// scripted peer, then fed whatever segments a fuzzer invents, with the stack's
// invariants checked after every step. The property tests (test/fuzz) and the
// coverage-guided targets (fuzz/) both use it.
//
// The peer's byte stream is a fixed function of the sequence number (patternByte),
// so any segment carrying data carries the bytes "the peer sent" at that position,
// whatever its sequence number. That makes "the application received a prefix of
// what the peer sent" checkable for any sequence of segments.
//
// The invariants (violations() lists the broken ones):
//   1. nothing throws out of the stack, and nothing is counted as 'internal-error';
//   2. every state change is an arc of RFC 9293's diagram, and continues the last one;
//   3. SND.UNA <= SND.NXT in every TCB;
//   4. the bytes each socket delivered are the peer's bytes from its IRS + 1 on;
//   5. no ACK the stack sends acknowledges an octet the peer never sent;
//   6. buffers stay within their bounds (receive: rcvBufSize; send: sndBufSize + one write).

import { SeededRandom } from '../../stack/random.js'
import type { Socket } from '../../stack/socket/socket.js'
import { Stack, type StateChange } from '../../stack/stack.js'
import { DEFAULT_TCP_CONFIG } from '../../stack/tcp/config.js'
import { seqAdd, seqDiff, seqLe } from '../../stack/tcp/seq.js'
import { isTransition, type State } from '../../stack/tcp/state.js'
import { VirtualClock } from '../../stack/time/virtual-clock.js'
import type { Address } from '../../stack/wire/address.js'
import { IPPROTO_ICMP, parseIPv4 } from '../../stack/wire/ipv4.js'
import { IPPROTO_ICMPV6, parseIPv6 } from '../../stack/wire/ipv6.js'
import { ACK, FIN, RST, SYN, buildTcpPacket, flagsToString, parseTcp, type TcpOptions, type TcpSegment } from '../../stack/wire/tcp.js'
import type { Link, PacketHandler } from '../../tun/link.js'

export const STACK_ADDRESS = '10.0.0.2'
export const PEER_ADDRESS = '10.0.0.1'
/** With `ipv6`, the connection runs between these (the same TCP layer over IPv6). */
export const STACK_ADDRESS6 = 'fd00::2'
export const PEER_ADDRESS6 = 'fd00::1'
const STACK_ADDR = 0x0a000002
const PEER_ADDR = 0x0a000001
/** The peer's ISN: just below 2^32, so the connection's sequence numbers wrap early on. */
export const PEER_ISN = 0xffff_ff00
const SERVER_PORT = 80
const PEER_PORT = 40_000
/** The largest write the driver makes; the send buffer may exceed its size by one write. */
export const MAX_WRITE = 4096

/** The states a connection can be driven into before the fuzzing starts. */
export const OPEN_STATES = [
  'LISTEN', 'SYN-SENT', 'SYN-RECEIVED', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2',
  'CLOSING', 'TIME-WAIT', 'CLOSE-WAIT', 'LAST-ACK',
] as const satisfies readonly State[]
export type OpenState = (typeof OPEN_STATES)[number]

/** The peer's byte at sequence number `seq` (absolute): a hash, so no two nearby positions agree by accident. */
export function patternByte(seq: number): number {
  return Math.imul(seq >>> 0, 0x9e3779b1) >>> 24
}

/** A segment from the peer; seq is relative to the peer's ISN, ack to the stack's ISS. */
export interface PeerSegment {
  flags: number
  seq: number
  ack: number
  window: number
  /** Bytes of data, taken from the peer's stream at this sequence number. */
  dataLength: number
  options?: TcpOptions
  /** Bytes other than the peer's stream: a lying peer, which invariant 4 must catch. */
  payload?: Uint8Array
}

/** A change to the built packet, to make it malformed. */
export type Mutation =
  | { kind: 'flip-bit'; bit: number }
  | { kind: 'set-byte'; index: number; value: number }
  | { kind: 'truncate'; length: number }
  | { kind: 'extend'; bytes: number[] }

export type Action =
  | { type: 'segment'; segment: PeerSegment; mutation?: Mutation }
  | { type: 'raw'; bytes: Uint8Array }
  | { type: 'wait'; ms: number }
  | { type: 'write'; length: number }
  | { type: 'end' }
  | { type: 'destroy' }

/** A Link whose far end is the driver. */
class TapLink implements Link {
  readonly mtu = 1500
  handler: PacketHandler | null = null
  constructor(private readonly onSent: (packet: Uint8Array) => void) {}
  send(packet: Uint8Array): void { this.onSent(packet) }
  onReceive(handler: PacketHandler | null): void { this.handler = handler }
  close(): void { this.handler = null }
}

/** What the driver reads of a TCB; kept structural so the driver follows the TCB as it grows. */
interface TcbView {
  state: State
  sndUna: number
  sndNxt: number
  irs: number
  sendBuffer: { length: number }
  reassembly: { bytes: number }
}

/** A socket the application holds, and what it has read. */
interface AppSocket {
  socket: Socket
  received: number[]
  /** The first byte's sequence number (IRS + 1), once known. */
  start: number | null
}

async function settle(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>(resolve => setImmediate(resolve))
}

export class FuzzConnection {
  readonly clock = new VirtualClock(1_000)
  readonly stack: Stack
  /** Every broken invariant, in the order found. */
  private readonly broken: string[] = []
  /** Sequence ranges [start, end) the peer has put on the wire, SYN and FIN included. */
  private readonly peerSent: { start: number; end: number }[] = []
  private readonly sockets: AppSocket[] = []
  /** Each connection's last state, by "localPort remotePort". */
  private readonly lastState = new Map<string, State>()
  private readonly link: TapLink
  /** The stack's ISS (from its first SYN) and the end of everything it sent, relative to it. */
  private iss: number | null = null
  private stackNxt = 0
  private stackPort = SERVER_PORT
  private peerPort = PEER_PORT
  /** The peer's next sequence number (relative): what a well-behaved peer would send next. */
  peerNxt = 0
  /** Segments the stack sent, parsed, oldest first (the driver keeps the last few hundred). */
  readonly sent: TcpSegment[] = []
  /** The two ends' addresses: IPv4, or IPv6 (`open(state, true)`). */
  private readonly stackAddr: Address
  private readonly peerAddr: Address

  private constructor(readonly ipv6: boolean) {
    this.stackAddr = ipv6 ? STACK_ADDRESS6 : STACK_ADDR
    this.peerAddr = ipv6 ? PEER_ADDRESS6 : PEER_ADDR
    this.link = new TapLink(packet => this.stackSent(packet))
    this.stack = new Stack({
      address: STACK_ADDRESS, address6: STACK_ADDRESS6, link: this.link, clock: this.clock, random: new SeededRandom(1),
      mslMs: 1_000, finWait2TimeoutMs: 5_000, tcp: { rcvBufSize: 64 * 1024, sndBufSize: 64 * 1024 },
    })
    this.stack.on('internal-error', (error: unknown) => this.violate(`internal error: ${error instanceof Error ? error.stack : String(error)}`))
    this.stack.on('state', (c: StateChange) => this.stateChanged(c))
  }

  /** A fresh stack with a connection in `state` (LISTEN: a listener and no connection yet), over IPv6 with `ipv6`. */
  static async open(state: OpenState, ipv6 = false): Promise<FuzzConnection> {
    const f = new FuzzConnection(ipv6)
    await f.driveTo(state)
    return f
  }

  /** The state of the newest connection the stack holds, else of the last socket, else LISTEN (only a listener). */
  get state(): State {
    const held = this.stack.connections()
    if (held.length > 0) return held[held.length - 1]!.state
    const s = this.sockets[this.sockets.length - 1]
    return s !== undefined ? s.socket.state : 'LISTEN'
  }

  /** Invariants broken so far (empty: all held). */
  violations(): string[] {
    this.checkNow()
    return [...this.broken]
  }

  async apply(action: Action): Promise<void> {
    switch (action.type) {
      case 'segment': {
        const packet = this.build(action.segment)
        // Noted first: the stack answers during inject(). A mutated segment counts too:
        // one that happens to stay valid still put these octets on the wire.
        this.notePeerSent(action.segment)
        this.inject(action.mutation ? mutate(packet, action.mutation) : packet)
        break
      }
      case 'raw':
        this.inject(action.bytes)
        break
      case 'wait':
        this.advance(action.ms)
        break
      case 'write': {
        const s = this.current()
        if (s && !s.socket.destroyed && !s.socket.writableEnded) s.socket.write(Buffer.alloc(Math.min(action.length, MAX_WRITE), 0x55))
        break
      }
      case 'end': {
        const s = this.current()
        if (s && !s.socket.destroyed) s.socket.end()
        break
      }
      case 'destroy': {
        const s = this.current()
        if (s) s.socket.destroy()
        break
      }
    }
    await settle()
    this.checkNow()
  }

  /** A well-formed segment from the peer at the current sequence numbers, for driving and for seeds. */
  segment(flags: number, extra: Partial<PeerSegment> = {}): PeerSegment {
    return { flags, seq: this.peerNxt, ack: this.stackNxt, window: 65535, dataLength: 0, ...extra }
  }

  /** Stack ISS-relative end of everything the stack has sent. */
  get stackNext(): number {
    return this.stackNxt
  }

  // ---- driving into a state ----

  private async driveTo(state: OpenState): Promise<void> {
    if (state === 'SYN-SENT') {
      const socket = this.stack.connect({ host: this.ipv6 ? PEER_ADDRESS6 : PEER_ADDRESS, port: PEER_PORT, allowHalfOpen: true })
      this.adopt(socket)
      this.stackPort = socket.localPort
      await settle()
      return
    }
    this.stack.createServer({ allowHalfOpen: true }, socket => this.adopt(socket)).listen(SERVER_PORT)
    await settle()
    if (state === 'LISTEN') return
    await this.peer(SYN, { options: { mss: 1460 } })
    if (state === 'SYN-RECEIVED') return
    await this.peer(ACK)
    const app = this.current()!
    app.socket.write(Buffer.alloc(1000, 0x41)) // data in flight: SND.UNA < SND.NXT
    await settle()
    if (state === 'ESTABLISHED') return
    if (state === 'CLOSE-WAIT' || state === 'LAST-ACK') {
      await this.peer(FIN | ACK)
      if (state === 'LAST-ACK') {
        app.socket.end()
        await settle()
      }
      return
    }
    app.socket.end() // FIN-WAIT-1
    await settle()
    if (state === 'FIN-WAIT-1') return
    if (state === 'CLOSING') {
      await this.peer(FIN | ACK, { ack: 1 }) // acknowledges the SYN only: our data and FIN are still in flight
      return
    }
    await this.peer(ACK) // acknowledges everything, the FIN included
    if (state === 'FIN-WAIT-2') return
    await this.peer(FIN | ACK) // TIME-WAIT
  }

  private async peer(flags: number, extra: Partial<PeerSegment> = {}): Promise<void> {
    await this.apply({ type: 'segment', segment: this.segment(flags, extra) })
  }

  private adopt(socket: Socket): void {
    const app: AppSocket = { socket, received: [], start: null }
    this.sockets.push(app)
    socket.on('data', (chunk: Buffer) => {
      if (app.start === null) app.start = this.tcbOf(socket)?.irs !== undefined ? seqAdd(this.tcbOf(socket)!.irs, 1) : null
      for (const b of chunk) app.received.push(b)
    })
    socket.on('error', () => {}) // resets and timeouts are expected here
  }

  private current(): AppSocket | undefined {
    return this.sockets[this.sockets.length - 1]
  }

  // ---- the wire ----

  private build(seg: PeerSegment): Uint8Array {
    const seq = (PEER_ISN + seg.seq) >>> 0
    const first = seg.flags & SYN ? seqAdd(seq, 1) : seq
    let payload = seg.payload
    if (payload === undefined) {
      payload = new Uint8Array(seg.dataLength)
      for (let i = 0; i < payload.length; i++) payload[i] = patternByte(first + i)
    }
    return buildTcpPacket({
      src: this.peerAddr, dst: this.stackAddr, srcPort: this.peerPort, dstPort: this.stackPort,
      seq, ack: seg.flags & ACK ? ((this.iss ?? 0) + seg.ack) >>> 0 : 0,
      flags: seg.flags, window: seg.window, options: seg.options, payload,
    })
  }

  /** Record the octets a segment put on the wire, and move the well-behaved peer's next sequence number. */
  private notePeerSent(seg: PeerSegment): void {
    const length = (seg.payload?.length ?? seg.dataLength) + (seg.flags & SYN ? 1 : 0) + (seg.flags & FIN ? 1 : 0)
    if (length === 0 || seg.flags & RST) return
    const start = (PEER_ISN + seg.seq) >>> 0
    this.peerSent.push({ start, end: seqAdd(start, length) })
    if (seqDiff(seg.seq + length, this.peerNxt) > 0 && seqDiff(seg.seq, this.peerNxt) <= 0) this.peerNxt = (seg.seq + length) >>> 0
  }

  private inject(packet: Uint8Array): void {
    try {
      this.link.handler?.(packet)
    } catch (error) {
      this.violate(`threw out of the stack: ${error instanceof Error ? error.stack : String(error)}`)
    }
  }

  private advance(ms: number): void {
    const end = this.clock.now() + ms
    try {
      this.clock.advanceTo(end)
    } catch (error) {
      this.violate(`a timer threw: ${error instanceof Error ? error.stack : String(error)}`)
    }
  }

  /** Every packet the stack sends: learn its ISS and how far it has sent; check its ACK (invariant 5). */
  private stackSent(packet: Uint8Array): void {
    const ip = this.ipv6 ? parseIPv6(packet) : parseIPv4(packet)
    if (!ip.ok) return this.violate(`the stack sent a bad IP packet: ${ip.reason}`)
    // An ICMP or ICMPv6 error answering a mutated packet (a next header we do not carry, a UDP
    // port nobody holds) is the IP layer's business, not the connection's.
    if (ip.value.header.protocol === IPPROTO_ICMP || ip.value.header.protocol === IPPROTO_ICMPV6) return
    const parsed = parseTcp(ip.value.payload, ip.value.header.src, ip.value.header.dst)
    if (!parsed.ok) return this.violate(`the stack sent a bad TCP segment: ${parsed.reason}`)
    const seg = parsed.value
    if (this.sent.length >= 512) this.sent.splice(0, 256)
    this.sent.push({ ...seg, payload: seg.payload.slice() })
    if (seg.flags & SYN && this.iss === null) this.iss = seg.seq
    if (this.iss !== null && !(seg.flags & RST)) {
      const end = seqDiff(seg.seq, this.iss) + seg.payload.length + (seg.flags & SYN ? 1 : 0) + (seg.flags & FIN ? 1 : 0)
      if (end > this.stackNxt && end < 0x4000_0000) this.stackNxt = end
    }
    // 5. An ACK (other than in a RST, which RFC 9293 3.10.7.1 builds from the offending segment)
    // acknowledges up to ack - 1: the peer must have sent that octet.
    if (seg.flags & ACK && !(seg.flags & RST)) {
      const last = (seg.ack - 1) >>> 0
      if (!this.peerSent.some(r => seqLe(r.start, last) && seqDiff(r.end, last) > 0)) {
        this.violate(`ACK ${seg.ack - PEER_ISN >>> 0} (relative) acknowledges an octet the peer never sent: ${flagsToString(seg.flags)}`)
      }
    }
  }

  // ---- invariants ----

  private stateChanged(c: StateChange): void {
    const key = `${c.conn.localPort} ${c.conn.remotePort}`
    // 2. An arc of the diagram, continuing from where this connection was.
    if (!isTransition(c.from, c.to)) this.violate(`state change ${c.from} -> ${c.to} is no arc of RFC 9293 (${c.cause})`)
    const last = this.lastState.get(key)
    if (last !== undefined && last !== 'CLOSED' && last !== c.from) this.violate(`state change from ${c.from}, but the connection was in ${last}`)
    this.lastState.set(key, c.to)
  }

  private checkNow(): void {
    // 1. Internal errors are counted even when no listener saw them.
    const internal = this.stack.counters.drops['internal-error'] ?? 0
    if (internal > 0 && !this.broken.some(b => b.startsWith('internal error'))) this.violate(`${internal} internal errors counted`)
    const config = { ...DEFAULT_TCP_CONFIG, rcvBufSize: 64 * 1024, sndBufSize: 64 * 1024 }
    for (const tcb of this.tcbs()) {
      // 3. SND.UNA <= SND.NXT.
      if (!seqLe(tcb.sndUna, tcb.sndNxt)) this.violate(`SND.UNA ${tcb.sndUna} > SND.NXT ${tcb.sndNxt} in ${tcb.state}`)
      // 6. Bounded buffers.
      if (tcb.reassembly.bytes > config.rcvBufSize) this.violate(`${tcb.reassembly.bytes} out-of-order bytes held, over rcvBufSize`)
      if (tcb.sendBuffer.length > config.sndBufSize + MAX_WRITE) this.violate(`send buffer holds ${tcb.sendBuffer.length} bytes`)
    }
    // 4. What each socket delivered is the peer's stream from IRS + 1.
    for (const app of this.sockets) {
      if (app.received.length === 0 || app.start === null) continue
      for (let i = 0; i < app.received.length; i++) {
        if (app.received[i] !== patternByte(app.start + i)) {
          this.violate(`byte ${i} delivered to the application is ${app.received[i]}, the peer sent ${patternByte(app.start + i)}`)
          break
        }
      }
      app.start = seqAdd(app.start, app.received.length) // checked: only the position matters from now on
      app.received.length = 0
    }
  }

  /** The TCBs the stack holds (TIME-WAIT entries without sequence variables are skipped). */
  private tcbs(): TcbView[] {
    const table = (this.stack as unknown as { tcp: { connections: Iterable<unknown> } }).tcp.connections
    const out: TcbView[] = []
    for (const c of table) if (c !== null && typeof c === 'object' && 'sndUna' in c && 'sendBuffer' in c) out.push(c as TcbView)
    return out
  }

  private tcbOf(socket: Socket): TcbView | undefined {
    const tcb = (socket as unknown as { connection?: unknown }).connection
    return tcb !== null && typeof tcb === 'object' && 'irs' in tcb ? (tcb as TcbView) : undefined
  }

  private violate(what: string): void {
    if (this.broken.length < 20) this.broken.push(what)
  }
}

/** Apply a mutation to a copy of `packet`. */
export function mutate(packet: Uint8Array, m: Mutation): Uint8Array {
  switch (m.kind) {
    case 'flip-bit': {
      const copy = packet.slice()
      const bit = m.bit % (copy.length * 8)
      copy[bit >>> 3]! ^= 1 << (bit & 7)
      return copy
    }
    case 'set-byte': {
      const copy = packet.slice()
      copy[m.index % copy.length] = m.value & 0xff
      return copy
    }
    case 'truncate':
      return packet.slice(0, m.length % (packet.length + 1))
    case 'extend': {
      const copy = new Uint8Array(packet.length + m.bytes.length)
      copy.set(packet)
      copy.set(m.bytes.map(b => b & 0xff), packet.length)
      return copy
    }
  }
}
