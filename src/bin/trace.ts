// --trace: one line per segment in and out and one per state change, e.g.
//
//    0.000412  in 10.77.0.1:40312 > 10.77.0.2:80  S     seq 0 (3204153245) win 64240 len 0 <mss 1460,sackOK,TS 1 0,wscale 7>
//    0.000431 out 10.77.0.2:80 > 10.77.0.1:40312  S.    seq 0 (1593014337) ack 1 (3204153246) win 65535 len 0 <mss 1460>
//    0.000433 state 10.77.0.2:80 10.77.0.1:40312  LISTEN -> SYN-RECEIVED (SYN received)
//
// Time is seconds since the trace began. Sequence numbers are shown relative to
// the ISN of the end that sent them (learned from its SYN), then absolute. On a
// terminal (or with FORCE_COLOR; never with NO_COLOR), segments in are cyan, out green,
// resets red, state changes yellow.

import { flagsToString, type TcpSegment, type TcpOptions } from '../stack/wire/tcp.js'
import type { Stack, StateChange } from '../stack/stack.js'
import { endpointText, hostPortText, type Address } from '../stack/wire/address.js'

function options(o: TcpOptions): string {
  const parts: string[] = []
  if (o.mss !== undefined) parts.push(`mss ${o.mss}`)
  if (o.sackPermitted) parts.push('sackOK')
  if (o.timestamp) parts.push(`TS ${o.timestamp.value} ${o.timestamp.echo}`)
  if (o.windowScale !== undefined) parts.push(`wscale ${o.windowScale}`)
  if (o.sackBlocks?.length) parts.push('sack ' + o.sackBlocks.map(b => `${b.left}:${b.right}`).join(' '))
  if (o.fastOpen) parts.push(`${o.fastOpen.experimental ? 'FOEXP' : 'FO'}${o.fastOpen.cookie.length > 0 ? ' ' + Buffer.from(o.fastOpen.cookie).toString('hex') : ''}`)
  return parts.length === 0 ? '' : ` <${parts.join(',')}>`
}

const COLOURS = { in: 36, out: 32, reset: 31, state: 33 } as const

function paint(on: boolean, colour: keyof typeof COLOURS, text: string): string {
  return on ? `\x1b[${COLOURS[colour]}m${text}\x1b[0m` : text
}

export class Tracer {
  /** ISN of each sender, keyed "addr:port>addr:port". */
  private readonly isns = new Map<string, number>()
  private readonly start: number

  constructor(
    private readonly stack: Stack,
    private readonly print: (line: string) => void,
    /** ANSI colours: true for a terminal, false when piped (useColour() in colour.ts decides). */
    private readonly colour = false,
  ) {
    this.start = stack.clock.now()
    stack.on('segment', (dir: 'in' | 'out', s: { src: Address; dst: Address; seg: TcpSegment }) => this.segment(dir, s.src, s.dst, s.seg))
    stack.on('state', (change: StateChange) => this.state(change))
  }

  private time(): string {
    return ((this.stack.clock.now() - this.start) / 1000).toFixed(6).padStart(10)
  }

  private relative(key: string, n: number): string {
    const isn = this.isns.get(key)
    return isn === undefined ? `${n}` : `${(n - isn) >>> 0} (${n})`
  }

  segment(dir: 'in' | 'out', src: Address, dst: Address, seg: TcpSegment): void {
    const from = endpointText(src, seg.srcPort)
    const to = endpointText(dst, seg.dstPort)
    const forward = `${from}>${to}`
    const backward = `${to}>${from}`
    if (seg.flags & 0x02) this.isns.set(forward, seg.seq) // SYN
    let line = `${this.time()} ${dir.padStart(3)} ${from} > ${to}  ${flagsToString(seg.flags).padEnd(5)} seq ${this.relative(forward, seg.seq)}`
    if (seg.flags & 0x10) line += ` ack ${this.relative(backward, seg.ack)}`
    line += ` win ${seg.window} len ${seg.payload.length}${options(seg.options)}`
    this.print(paint(this.colour, seg.flags & 0x04 ? 'reset' : dir, line))
  }

  state(c: StateChange): void {
    const conn = c.conn
    this.print(paint(this.colour, 'state', `${this.time()} state ${hostPortText(conn.localAddress, conn.localPort)} ${hostPortText(conn.remoteAddress, conn.remotePort)}  ${c.from} -> ${c.to} (${c.cause})`))
  }
}
