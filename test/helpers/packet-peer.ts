// Speak to one stack in packets, like a packetdrill script: the test plays
// the remote host, injects segments and expects the segments the stack sends.
// Sequence numbers are relative, as in packetdrill: the peer's ISN is 0 in
// `send`, the stack's ISS is 0 in `expect` (learned from its first SYN).

import { expect } from 'vitest'
import { Stack, type StackOptions } from '../../src/stack/stack'
import type { Socket } from '../../src/stack/socket/socket'
import type { Tcb } from '../../src/stack/tcp/tcb'
import { SeededRandom } from '../../src/stack/random'
import { VirtualClock } from '../../src/stack/time/virtual-clock'
import type { Link, PacketHandler } from '../../src/tun/link'
import { parseIPv4 } from '../../src/stack/wire/ipv4'
import { ACK, FIN, PSH, RST, SYN, buildTcpPacket, flagsToString, parseTcp, type TcpOptions, type TcpSegment } from '../../src/stack/wire/tcp'
import { runFor, settle } from './virtual-time'

export const PEER = '10.0.0.1'
export const LOCAL = '10.0.0.2'
const PEER_ADDR = 0x0a000001
const LOCAL_ADDR = 0x0a000002
const PEER_ISN = 0x7000_0000 // near the sign boundary, to exercise wrap-around comparisons

/** A Link whose other end is the test: it records what the stack sends and lets the test inject. */
class TapLink implements Link {
  readonly mtu = 1500
  readonly sent: Uint8Array[] = []
  private handler: PacketHandler | null = null
  send(packet: Uint8Array): void { this.sent.push(packet.slice()) }
  onReceive(handler: PacketHandler | null): void { this.handler = handler }
  inject(packet: Uint8Array): void { this.handler?.(packet) }
  close(): void { this.handler = null }
}

export interface SegmentSpec {
  /** Relative to the peer's ISN (0 is the SYN). */
  seq?: number
  /** Relative to the stack's ISS. */
  ack?: number
  win?: number
  data?: string | Uint8Array
  options?: TcpOptions
  port?: number
}

export interface Expected {
  seq?: number
  ack?: number
  win?: number
  len?: number
}

export class PacketPeer {
  readonly clock = new VirtualClock(1_000)
  readonly link = new TapLink()
  readonly stack: Stack
  /** The stack's ISS, once seen. */
  iss: number | null = null
  peerPort = 40_000
  localPort = 80

  constructor(options: Partial<StackOptions> = {}) {
    this.stack = new Stack({ address: LOCAL, link: this.link, clock: this.clock, random: new SeededRandom(7), ...options })
  }

  /** Inject a segment from the peer. `flags` in tcpdump style: 'S', 'S.', '.', 'P.', 'F.', 'R', 'R.'. */
  async send(flags: string, spec: SegmentSpec = {}): Promise<void> {
    const f = parseFlags(flags)
    const payload = typeof spec.data === 'string' ? new TextEncoder().encode(spec.data) : spec.data
    const packet = buildTcpPacket({
      src: PEER_ADDR, dst: LOCAL_ADDR, srcPort: spec.port ?? this.peerPort, dstPort: this.localPort,
      seq: (PEER_ISN + (spec.seq ?? 0)) >>> 0,
      ack: f & ACK ? ((this.iss ?? 0) + (spec.ack ?? 0)) >>> 0 : 0,
      flags: f, window: spec.win ?? 65535, options: spec.options, payload,
    })
    this.link.inject(packet)
    await settle()
  }

  /** Inject raw bytes as if from the wire. */
  async sendRaw(packet: Uint8Array): Promise<void> {
    this.link.inject(packet)
    await settle()
  }

  /** The next segment the stack sent, or undefined. Learns the ISS from a SYN. */
  take(): TcpSegment | undefined {
    const packet = this.link.sent.shift()
    if (packet === undefined) return undefined
    const ip = parseIPv4(packet)
    if (!ip.ok) throw new Error(`stack sent a bad IP packet: ${ip.reason}`)
    const seg = parseTcp(ip.value.payload, ip.value.header.src, ip.value.header.dst)
    if (!seg.ok) throw new Error(`stack sent a bad TCP segment: ${seg.reason}`)
    if (seg.value.flags & SYN && this.iss === null) this.iss = seg.value.seq
    return seg.value
  }

  /** Every segment the stack has sent since the last take. */
  takeAll(): TcpSegment[] {
    const out: TcpSegment[] = []
    for (let s = this.take(); s !== undefined; s = this.take()) out.push(s)
    return out
  }

  /** Expect the next segment out to have these flags and (relative) fields. */
  expect(flags: string, e: Expected = {}): TcpSegment {
    const seg = this.take()
    expect(seg, `expected ${flags} from the stack, nothing was sent`).toBeDefined()
    const s = seg!
    const got = {
      flags: flagsToString(s.flags),
      ...(e.seq !== undefined ? { seq: rel(s.seq, this.iss ?? 0) } : {}),
      ...(e.ack !== undefined ? { ack: rel(s.ack, PEER_ISN) } : {}),
      ...(e.win !== undefined ? { win: s.window } : {}),
      ...(e.len !== undefined ? { len: s.payload.length } : {}),
    }
    expect(got).toEqual({ flags, ...e })
    return s
  }

  expectNothing(): void {
    const seg = this.take()
    expect(seg && `${flagsToString(seg.flags)} seq ${rel(seg.seq, this.iss ?? 0)} ack ${rel(seg.ack, PEER_ISN)}`).toBeUndefined()
  }

  async run(ms: number): Promise<void> {
    await runFor(this.clock, ms)
  }

  /** The usual opening: a listener on localPort, SYN in, SYN,ACK out, ACK in. */
  async handshake(win = 65535): Promise<void> {
    await this.send('S', { seq: 0, win, options: { mss: 1460 } })
    this.expect('S.', { seq: 0, ack: 1 })
    await this.send('.', { seq: 1, ack: 1, win })
  }
}

export interface SenderSetup {
  tcp?: StackOptions['tcp']
  sack?: boolean
  timestamps?: boolean
}

/**
 * The stack as a sender under test: it accepts our connection on port 80, our SYN offering
 * MSS 1460 and window scale 7 (so cwnd is the limit, never our window 65535 << 7), SACK and
 * timestamps when asked. Returns the peer, the accepted socket and its TCB.
 */
export async function acceptedSender({ tcp, sack = false, timestamps = false }: SenderSetup = {}): Promise<{ p: PacketPeer; socket: Socket; tcb: Tcb }> {
  const p = new PacketPeer({ tcp })
  let socket: Socket | undefined
  p.stack.createServer(s => { socket = s }).listen(80)
  await settle()
  const options = { mss: 1460, windowScale: 7, ...(sack ? { sackPermitted: true } : {}), ...(timestamps ? { timestamp: { value: 1, echo: 0 } } : {}) }
  await p.send('S', { seq: 0, options })
  const synAck = p.expect('S.', { seq: 0, ack: 1 })
  const ourTs = synAck.options.timestamp?.value ?? 0
  await p.send('.', { seq: 1, ack: 1, options: timestamps ? { timestamp: { value: 2, echo: ourTs } } : undefined })
  return { p, socket: socket!, tcb: (socket as unknown as { connection: Tcb }).connection }
}

function rel(a: number, base: number): number {
  return (a - base) >>> 0
}

function parseFlags(s: string): number {
  let f = 0
  for (const c of s) {
    if (c === 'S') f |= SYN
    else if (c === 'F') f |= FIN
    else if (c === 'R') f |= RST
    else if (c === 'P') f |= PSH
    else if (c === '.') f |= ACK
    else throw new Error(`unknown flag ${c}`)
  }
  return f
}
