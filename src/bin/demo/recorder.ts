// Runs one demo scenario step by step and records, after each step, the
// segment that crossed the wire and both ends' states: the stack's from its TCB,
// the kernel's from ss.

import net from 'node:net'
import type { Socket } from '../../stack/socket/socket.js'
import type { Stack } from '../../stack/stack.js'
import type { State } from '../../stack/tcp/state.js'
import { hostPortText } from '../../stack/wire/address.js'
import { parseIPv4 } from '../../stack/wire/ipv4.js'
import { parseIPv6 } from '../../stack/wire/ipv6.js'
import { ACK, FIN, PSH, RST, SYN, parseTcp } from '../../stack/wire/tcp.js'
import { kernelState } from './kernel-state.js'
import type { HeldPacket, PacedLink } from './paced-link.js'

export interface Segment {
  from: 'client' | 'server'
  /** e.g. "FIN,ACK seq=1 ack=1" with numbers relative to each side's ISN. */
  text: string
  /** When it left its sender (ms since the scenario began); the row's time is when it arrived. */
  sentAt: number
  rst: boolean
}

export interface Row {
  step: number
  /** When it happened, in ms since the scenario began. */
  time: number
  /** What happened: an application call, a segment, or time passing. */
  event: string
  segment?: Segment
  client: State
  server: State
}

/** How long the kernel gets to react to a step before we look (its replies are held anyway). */
const REACT_MS = 60
/** With nothing in flight for this long, a flow of segments is over. (Linux may delay an ACK up to 200 ms.) */
const QUIET_MS = 400

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

function flagWords(flags: number): string {
  const words: string[] = []
  if (flags & SYN) words.push('SYN')
  if (flags & FIN) words.push('FIN')
  if (flags & RST) words.push('RST')
  if (flags & PSH) words.push('PSH')
  if (flags & ACK) words.push('ACK')
  return words.join(',')
}

export class Recorder {
  readonly rows: Row[] = []
  client: net.Socket | null = null
  server: Socket | null = null
  clientError: string | null = null
  private clientPort = 0
  private serverSeen = false
  private readonly isn: { client?: number; server?: number } = {}
  private readonly t0 = performance.now()

  /** `kernelAddr` and `serverAddr` of one family: the scenario runs over IPv4 or over IPv6. */
  constructor(
    private readonly stack: Stack,
    private readonly link: PacedLink,
    private readonly kernelAddr: string,
    private readonly serverAddr: string,
    readonly port: number,
    private readonly listening: boolean,
  ) {}

  /** As ss prints it: 10.99.0.1:40000, [fd99::1]:40000. */
  get clientLabel(): string {
    return this.clientPort === 0 ? hostPortText(this.kernelAddr, 0).replace(/0$/, '?') : hostPortText(this.kernelAddr, this.clientPort)
  }

  get serverLabel(): string {
    return hostPortText(this.serverAddr, this.port)
  }

  async start(): Promise<void> {
    await this.record('start')
  }

  /** The kernel client connects (its SYN is held on the wire). */
  async connect(): Promise<void> {
    const client = net.connect({ host: this.serverAddr, port: this.port, localAddress: this.kernelAddr, allowHalfOpen: true })
    client.on('error', error => { this.clientError = (error as NodeJS.ErrnoException).code ?? error.message })
    this.client = client
    const at = this.now()
    await sleep(REACT_MS)
    this.clientPort = client.localPort ?? 0
    await this.record('client: connect()', undefined, at)
  }

  /** An application call (or several), then a look at both ends. */
  async act(event: string, action: () => void | Promise<void>): Promise<void> {
    const at = this.now()
    await action()
    await sleep(REACT_MS)
    await this.record(event, undefined, at)
  }

  /** Let the segments in flight cross one at a time, oldest first, until the wire is quiet. */
  async flow(): Promise<void> {
    for (;;) {
      await this.link.waitForPacket(QUIET_MS)
      const held = this.link.releaseOne()
      if (held === undefined) return
      const arrived = this.now()
      const segment = this.describe(held)
      await sleep(REACT_MS)
      await this.record(`${segment.from === 'client' ? 'client -> server' : 'server -> client'}  ${segment.text}`, segment, arrived)
    }
  }

  /** Let `ms` of time pass (a timer such as 2MSL runs out), then look. */
  async wait(event: string, ms: number): Promise<void> {
    await sleep(ms)
    await this.record(event)
  }

  /** ms since the scenario began. */
  private now(): number {
    return performance.now() - this.t0
  }

  private describe(held: HeldPacket): Segment {
    const ip = held.packet[0]! >> 4 === 6 ? parseIPv6(held.packet) : parseIPv4(held.packet)
    const from = held.direction === 'to-stack' ? 'client' : 'server'
    const sentAt = Math.round((held.at - this.t0) * 1000) / 1000
    if (!ip.ok) return { from, text: `(not IP: ${ip.reason})`, sentAt, rst: false }
    // A checksum the device vouched for (offload) may be partial: do not check it again.
    const tcp = parseTcp(ip.value.payload, ip.value.header.src, ip.value.header.dst, held.checksumTrusted !== true)
    if (!tcp.ok) return { from, text: `(not TCP: ${tcp.reason})`, sentAt, rst: false }
    const seg = tcp.value
    const to = from === 'client' ? 'server' : 'client'
    if (seg.flags & SYN) this.isn[from] = seg.seq
    const rel = (n: number, side: 'client' | 'server') => {
      const base = this.isn[side]
      return base === undefined ? n : (n - base) >>> 0
    }
    let text = `${flagWords(seg.flags)} seq=${rel(seg.seq, from)}`
    if (seg.flags & ACK) text += ` ack=${rel(seg.ack, to)}`
    if (seg.payload.length > 0) text += ` len=${seg.payload.length}`
    return { from, text, sentAt, rst: (seg.flags & RST) !== 0 }
  }

  private serverState(): State {
    const conn = this.stack.connections().find(c => c.localPort === this.port && c.remotePort === this.clientPort && this.clientPort !== 0)
    if (conn !== undefined) {
      this.serverSeen = true
      return conn.state
    }
    return this.listening && !this.serverSeen ? 'LISTEN' : 'CLOSED'
  }

  /** Both ends' states now, as the row of a step that happened at `time`. */
  private async record(event: string, segment?: Segment, time = this.now()): Promise<void> {
    const server = this.serverState()
    const client = this.clientPort === 0 ? 'CLOSED' : await kernelState(this.clientLabel, this.serverLabel)
    this.rows.push({ step: this.rows.length, time: Math.round(time * 1000) / 1000, event, segment, client, server })
  }
}
