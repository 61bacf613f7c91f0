// --trace-json FILE: the trace as JSON lines (docs/trace-json.md), for `tuntcp plot`
// and any other tool. A header line with the schema version, then one record per
// segment in and out, per state change, and per ACK the sender processed.

import { closeSync, openSync, writeSync } from 'node:fs'
import type { SenderInfo } from '../stack/sender-info.js'
import type { Stack, StateChange } from '../stack/stack.js'
import { addressText, type Address } from '../stack/wire/address.js'
import { ACK, SYN, type TcpSegment } from '../stack/wire/tcp.js'
import { CommandError } from './args.js'
import { TRACE_SCHEMA, TRACE_VERSION, type HeaderRecord, type SegmentRecord, type SenderRecord, type StateRecord, type TraceRecord } from '../viz/trace.js'

const FLAG_NAMES = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'] as const
/** ssthresh before any loss (congestion/types.ts INITIAL_SSTHRESH): written as null, "not set". */
const NO_SSTHRESH = 0x7fff_ffff

/** One connection's number, and whether it has reached CLOSED (the next open on its 4-tuple is a new one). */
interface Numbered {
  id: number
  closed: boolean
}

export class JsonTracer {
  private readonly start: number
  private readonly conns = new Map<string, Numbered>()
  private next = 1
  private readonly onSegment = (dir: 'in' | 'out', s: { src: Address; dst: Address; seg: TcpSegment }) => this.segment(dir, s.src, s.dst, s.seg)
  private readonly onState = (c: StateChange) => this.state(c)
  private readonly onSender = (s: SenderInfo) => this.sender(s)

  constructor(private readonly stack: Stack, private readonly write: (line: string) => void) {
    this.start = stack.clock.now()
    const header: HeaderRecord = { type: 'header', schema: TRACE_SCHEMA, version: TRACE_VERSION, stack: stack.address, start: new Date().toISOString() }
    write(JSON.stringify(header))
    stack.on('segment', this.onSegment)
    stack.on('state', this.onState)
    stack.on('sender', this.onSender)
  }

  /** Stop listening: the stack goes back to building no trace objects. */
  detach(): void {
    this.stack.off('segment', this.onSegment)
    this.stack.off('state', this.onState)
    this.stack.off('sender', this.onSender)
  }

  /** Milliseconds since the trace began, to the microsecond. */
  private t(): number {
    return Math.round((this.stack.clock.now() - this.start) * 1000) / 1000
  }

  /** The connection number for a 4-tuple; `opening` records (a SYN, an OPEN) start a new one once the last is CLOSED. */
  private conn(local: string, remote: string, opening: boolean): number {
    const key = `${local}|${remote}`
    let c = this.conns.get(key)
    if (c === undefined || (c.closed && opening)) {
      c = { id: this.next++, closed: false }
      this.conns.set(key, c)
    }
    return c.id
  }

  private emit(record: TraceRecord): void {
    this.write(JSON.stringify(record))
  }

  segment(dir: 'in' | 'out', src: Address, dst: Address, seg: TcpSegment): void {
    const from = `${addressText(src)}:${seg.srcPort}`
    const to = `${addressText(dst)}:${seg.dstPort}`
    const [local, remote] = dir === 'out' ? [from, to] : [to, from]
    const o = seg.options
    const options: SegmentRecord['options'] = {}
    if (o.mss !== undefined) options.mss = o.mss
    if (o.windowScale !== undefined) options.wscale = o.windowScale
    if (o.sackPermitted) options.sackOK = true
    if (o.timestamp) options.ts = [o.timestamp.value, o.timestamp.echo]
    this.emit({
      type: 'segment', t: this.t(), conn: this.conn(local, remote, (seg.flags & (SYN | ACK)) === SYN), dir,
      src: addressText(src), sport: seg.srcPort, dst: addressText(dst), dport: seg.dstPort,
      flags: FLAG_NAMES.filter((_, bit) => seg.flags & (1 << bit)),
      seq: seg.seq, ack: seg.flags & ACK ? seg.ack : null, len: seg.payload.length, win: seg.window,
      options, sack: (o.sackBlocks ?? []).map(b => [b.left, b.right]),
    } satisfies SegmentRecord)
  }

  state(c: StateChange): void {
    const { localAddress, localPort, remoteAddress, remotePort } = c.conn
    const id = this.conn(`${localAddress}:${localPort}`, `${remoteAddress}:${remotePort}`, c.from === 'CLOSED' || c.from === 'LISTEN')
    if (c.to === 'CLOSED') this.conns.get(`${localAddress}:${localPort}|${remoteAddress}:${remotePort}`)!.closed = true
    this.emit({
      type: 'state', t: this.t(), conn: id, local: localAddress, lport: localPort, remote: remoteAddress, rport: remotePort,
      from: c.from, to: c.to, cause: c.cause,
    } satisfies StateRecord)
  }

  sender(s: SenderInfo): void {
    this.emit({
      type: 'sender', t: this.t(), conn: this.conn(`${s.localAddress}:${s.localPort}`, `${s.remoteAddress}:${s.remotePort}`, false),
      local: s.localAddress, lport: s.localPort, remote: s.remoteAddress, rport: s.remotePort,
      state: s.state, cc: s.congestionControl, cwnd: s.cwnd, ssthresh: s.ssthresh >= NO_SSTHRESH ? null : s.ssthresh,
      srtt: s.srtt === undefined ? null : round(s.srtt), rttvar: round(s.rttvar), rto: round(s.rto), flight: s.flight, sacked: s.sacked,
      sndUna: s.sndUna, sndNxt: s.sndNxt, sndWnd: s.sndWnd, recovery: s.recovery,
    } satisfies SenderRecord)
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000
}

/**
 * --trace-json FILE on a stack: every record written at once (a crash loses nothing).
 * Returns the function that stops tracing and closes the file; a file that cannot be
 * opened is a CommandError (one line, status 1).
 */
export function traceJsonToFile(stack: Stack, file: string): () => void {
  let fd: number
  try {
    fd = openSync(file, 'w')
  } catch (error) {
    throw new CommandError(`cannot write the trace file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
  const tracer = new JsonTracer(stack, line => writeSync(fd, line + '\n'))
  return () => {
    tracer.detach()
    closeSync(fd)
  }
}
