// Header prediction (src/stack/tcp/fast-path.ts) and ACK coalescing (tcp-layer.ts), in
// packets and in virtual time. Header prediction is an optimisation RFC 9293 does not ask
// for: a pure ACK of new data and the next in-order data take a short road, everything else
// the full one (3.10.7.4), and a connection must behave exactly the same either way. The
// property test at the end checks that: the same random segments, with and without it.

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { PacketPeer } from '../../helpers/packet-peer'
import { settle } from '../../helpers/virtual-time'
import { batchedPeer } from '../../helpers/batched-peer'
import { Timer } from '../../../src/stack/time/timer-wheel'
import { ACK, FIN, PSH, SYN, URG, buildTcpPacket, type TcpOptions, type TcpSegment } from '../../../src/stack/wire/tcp'
import type { Socket } from '../../../src/stack/socket/socket'
import type { Tcb } from '../../../src/stack/tcp/tcb'
import type { TcpConfig } from '../../../src/stack/tcp/config'

const RUNS = Number(process.env.FUZZ_RUNS ?? 100)

/** Every option a Linux peer offers, or only some. */
const ALL_OPTIONS: TcpOptions = { mss: 1460, windowScale: 7, sackPermitted: true, timestamp: { value: 1000, echo: 0 } }

interface Conn {
  p: PacketPeer
  socket: Socket
  tcb: Tcb
  /** Bytes the application has read. */
  received: () => number
  /** The peer's next TSval, when its SYN offered timestamps. */
  tsVal: number
  timestamps: boolean
}

/** A connection in ESTABLISHED, the stack being the passive end, after a handshake with `syn` options. */
async function established(tcp: Partial<TcpConfig> = {}, syn: TcpOptions = ALL_OPTIONS): Promise<Conn> {
  const p = new PacketPeer({ tcp })
  let socket: Socket | undefined
  p.stack.createServer(s => { socket = s }).listen(80)
  await settle()
  await p.send('S', { seq: 0, win: 65535, options: syn })
  const synAck = p.expect('S.', { seq: 0, ack: 1 })
  const conn: Conn = { p, socket: undefined!, tcb: undefined!, received: () => 0, tsVal: (syn.timestamp?.value ?? 0) + 1, timestamps: syn.timestamp !== undefined }
  await p.send('.', { seq: 1, ack: 1, win: 512, options: tsOption(conn, synAck) })
  conn.socket = socket!
  conn.tcb = (socket as unknown as { connection: Tcb }).connection
  let n = 0
  socket!.on('data', (c: Buffer) => { n += c.length })
  conn.received = () => n
  expect(conn.tcb.state).toBe('ESTABLISHED')
  return conn
}

/** The timestamps option a well-behaved peer puts on its next segment: a newer TSval, echoing the stack's last. */
function tsOption(c: Conn, last?: TcpSegment): TcpOptions | undefined {
  if (!c.timestamps) return undefined
  const echo = last !== undefined ? last.options.timestamp?.value ?? 0 : tsNow(c)
  return { timestamp: { value: c.tsVal++, echo } }
}

/** The stack's current TSval, which a peer echoes. */
function tsNow(c: Conn): number {
  return (Math.floor(c.p.clock.now()) + c.tcb.tsOffset) >>> 0
}

/** Relative numbers for PacketPeer: the peer's next byte, and the stack's SND.UNA and SND.NXT. */
const rcvNxt = (c: Conn) => (c.tcb.rcvNxt - c.tcb.irs) >>> 0
const sndUna = (c: Conn) => (c.tcb.sndUna - c.tcb.iss) >>> 0
const sndNxt = (c: Conn) => (c.tcb.sndNxt - c.tcb.iss) >>> 0

const hits = (c: Conn) => ({ acks: c.p.stack.counters.fastPathAcks, data: c.p.stack.counters.fastPathData })

/** The stack has `bytes` of data in flight (the peer's window is 512 << 7 = 65536). */
async function inFlight(c: Conn, bytes: number): Promise<void> {
  c.socket.setNoDelay(true) // the last, short segment too (no Nagle)
  c.socket.write(Buffer.alloc(bytes, 7))
  await settle()
  while (c.p.take() !== undefined) { /* the data segments */ }
  expect(sndNxt(c) - sndUna(c)).toBe(bytes)
}

const WIN = 512 // with the peer's shift of 7: 65536 bytes

describe('header prediction: the predicted segments take the fast path', () => {
  it('a pure ACK of new data, timestamps in order (the sender side of a download)', async () => {
    const c = await established()
    await inFlight(c, 4000)
    await c.p.send('.', { seq: rcvNxt(c), ack: 1 + 1448, win: WIN, options: tsOption(c) })
    expect(hits(c)).toEqual({ acks: 1, data: 0 })
    expect(sndUna(c)).toBe(1 + 1448)
    // With PSH too, and the last of the data: everything acknowledged, the timer stopped (RFC 6298 5.2).
    await c.p.send('P.', { seq: rcvNxt(c), ack: 1 + 4000, win: WIN, options: tsOption(c) })
    expect(hits(c)).toEqual({ acks: 2, data: 0 })
    expect(c.tcb.retransmitTimer.armed).toBe(false)
  })

  it('the next in-order data, acknowledging nothing new (the receiver side of an upload)', async () => {
    const c = await established()
    await c.p.send('P.', { seq: 1, ack: 1, win: WIN, data: 'a'.repeat(1448), options: tsOption(c) })
    expect(hits(c)).toEqual({ acks: 0, data: 1 })
    c.p.expectNothing() // one segment: the ACK is delayed (RFC 9293 3.8.6.3)
    expect(c.tcb.delayedAckTimer.armed).toBe(true)
    await c.p.send('.', { seq: 1 + 1448, ack: 1, win: WIN, data: 'b'.repeat(1448), options: tsOption(c) })
    expect(hits(c)).toEqual({ acks: 0, data: 2 })
    c.p.expect('.', { ack: 1 + 2 * 1448 }) // the second full segment: ACKed at once
    expect(c.received()).toBe(2 * 1448)
  })

  it('the next in-order data that also acknowledges ours (a request after our response, the next byte of an echo)', async () => {
    const c = await established()
    await inFlight(c, 3000)
    await c.p.send('P.', { seq: 1, ack: 1 + 3000, win: WIN, data: 'request', options: tsOption(c) })
    expect(hits(c)).toEqual({ acks: 0, data: 1 })
    expect(sndUna(c)).toBe(1 + 3000)
    expect(c.tcb.retransmitTimer.armed).toBe(false) // everything acknowledged (RFC 6298 5.2)
    expect(c.received()).toBe(7)
  })

  it('without timestamps, SACK or window scaling too', async () => {
    const c = await established({}, { mss: 1460 })
    await c.p.send('.', { seq: 1, ack: 1, win: 60000, data: 'x'.repeat(100) })
    expect(hits(c)).toEqual({ acks: 0, data: 0 }) // the window changed from the handshake's 512
    await c.p.send('.', { seq: 101, ack: 1, win: 60000, data: 'x'.repeat(100) })
    expect(hits(c)).toEqual({ acks: 0, data: 1 })
  })

  it('is not taken at all with tcp.headerPrediction off', async () => {
    const c = await established({ headerPrediction: false })
    await inFlight(c, 3000)
    await c.p.send('.', { seq: 1, ack: 1 + 1448, win: WIN, options: tsOption(c) })
    await c.p.send('.', { seq: 1, ack: 1 + 1448, win: WIN, data: 'a'.repeat(100), options: tsOption(c) })
    expect(hits(c)).toEqual({ acks: 0, data: 0 })
    expect(c.received()).toBe(100)
  })
})

describe('header prediction: every other segment takes the full path (RFC 9293 3.10.7.4)', () => {
  /** Send one segment that is not predicted: the fast path must leave it alone. */
  async function notPredicted(c: Conn, flags: string, spec: Parameters<PacketPeer['send']>[1]): Promise<void> {
    const before = hits(c)
    await c.p.send(flags, spec)
    expect(hits(c)).toEqual(before)
  }

  it('a duplicate ACK (nothing new acknowledged, no data)', async () => {
    const c = await established()
    await inFlight(c, 3000)
    await notPredicted(c, '.', { seq: 1, ack: 1, win: WIN, options: tsOption(c) })
    expect(c.tcb.dupAcks).toBe(1)
  })

  it('an ACK that changes the window', async () => {
    const c = await established()
    await inFlight(c, 3000)
    await notPredicted(c, '.', { seq: 1, ack: 1 + 1448, win: WIN + 1, options: tsOption(c) })
    expect(c.tcb.sndWnd).toBe((WIN + 1) << 7)
  })

  it('an ACK with SACK blocks (RFC 2018)', async () => {
    const c = await established()
    await inFlight(c, 5000)
    const options = { ...tsOption(c), sackBlocks: [{ left: c.tcb.iss + 1 + 2896, right: c.tcb.iss + 1 + 4344 }] }
    await notPredicted(c, '.', { seq: 1, ack: 1 + 1448, win: WIN, options })
    expect(c.tcb.scoreboard.sackedBytes).toBe(1448)
    // Nothing SACKed is forgotten on the fast path: the next plain ACK takes the full one too.
    await notPredicted(c, '.', { seq: 1, ack: 1 + 2896, win: WIN, options: tsOption(c) })
  })

  it('an ACK of new data during loss recovery', async () => {
    const c = await established({}, { mss: 1460, windowScale: 7, timestamp: { value: 1000, echo: 0 } }) // no SACK: NewReno-style
    await inFlight(c, 10 * 1448)
    for (let i = 0; i < 3; i++) await c.p.send('.', { seq: 1, ack: 1, win: WIN, options: tsOption(c) })
    expect(c.tcb.lossState).toBe('recovery')
    await notPredicted(c, '.', { seq: 1, ack: 1 + 1448, win: WIN, options: tsOption(c) }) // a partial ACK (RFC 6582)
  })

  it('a segment with FIN, URG, SYN or no ACK', async () => {
    const c = await established()
    await notPredicted(c, 'F.', { seq: 1, ack: 1, win: WIN, options: tsOption(c) })
    expect(c.tcb.finReceived).toBe(true)
    const d = await established()
    const urgent = buildTcpPacket({
      src: 0x0a000001, dst: 0x0a000002, srcPort: d.p.peerPort, dstPort: 80, seq: (d.tcb.irs + 1) >>> 0, ack: (d.tcb.iss + 1) >>> 0,
      flags: ACK | URG, window: WIN, urgentPointer: 1, options: tsOption(d), payload: new Uint8Array(10),
    })
    const before = hits(d)
    await d.p.sendRaw(urgent)
    expect(hits(d)).toEqual(before)
    expect(d.received()).toBe(10) // urgent data is delivered inline
    await notPredicted(d, 'S.', { seq: 11, ack: 1, win: WIN, options: tsOption(d) }) // a challenge ACK (RFC 5961 4.2)
    await notPredicted(d, 'P', { seq: 11, win: WIN, data: 'no ACK', options: tsOption(d) })
    expect(d.received()).toBe(10)
  })

  it('data out of order, or filling a gap, or old', async () => {
    const c = await established()
    await notPredicted(c, '.', { seq: 1 + 1000, ack: 1, win: WIN, data: 'b'.repeat(1000), options: tsOption(c) })
    expect(c.tcb.reassembly.bytes).toBe(1000)
    await notPredicted(c, '.', { seq: 1, ack: 1, win: WIN, data: 'a'.repeat(1000), options: tsOption(c) })
    expect(c.received()).toBe(2000)
    await notPredicted(c, '.', { seq: 1, ack: 1, win: WIN, data: 'a'.repeat(1000), options: tsOption(c) })
    expect(c.received()).toBe(2000)
  })

  it('data that also acknowledges new data while a write waits for room (the application may run between the steps)', async () => {
    const c = await established({ sndBufSize: 4096 })
    c.socket.setNoDelay(true)
    let written = false
    c.socket.write(Buffer.alloc(8000, 7), () => { written = true }) // more than the send buffer: the write waits
    await settle()
    while (c.p.take() !== undefined) { /* the data segments */ }
    expect(written).toBe(false)
    await notPredicted(c, '.', { seq: 1, ack: 1 + 1448, win: WIN, data: 'request', options: tsOption(c) })
    expect(c.received()).toBe(7)
  })

  it('data beyond the receive window (trimmed)', async () => {
    const c = await established({ rcvBufSize: 4096 })
    await notPredicted(c, '.', { seq: 1, ack: 1, win: WIN, data: 'z'.repeat(5000), options: tsOption(c) })
    expect(c.received()).toBe(4096)
  })

  it('a TSval older than TS.Recent (PAWS, RFC 7323 5.3), or none at all once negotiated', async () => {
    const c = await established()
    await notPredicted(c, '.', { seq: 1, ack: 1, win: WIN, data: 'old', options: { timestamp: { value: 5, echo: 0 } } })
    expect(c.p.stack.counters.drops['tcp-paws']).toBe(1)
    await notPredicted(c, '.', { seq: 1, ack: 1, win: WIN, data: 'none' })
    expect(c.p.stack.counters.drops['tcp-no-timestamp']).toBe(1)
    expect(c.received()).toBe(0)
  })

  it('in any state but ESTABLISHED', async () => {
    const c = await established()
    c.socket.end() // FIN-WAIT-1
    await settle()
    await notPredicted(c, '.', { seq: 1, ack: 1, win: WIN, data: 'late', options: tsOption(c) })
    expect(c.received()).toBe(4)
  })
})

describe('ACK coalescing: one ACK per connection per batch of packets', () => {
  it('a batch of 8 full-sized in-order segments gets one ACK, for all of them', async () => {
    const t = await batchedPeer()
    let received = 0
    t.socket.on('data', (c: Buffer) => { received += c.length })
    for (let i = 0; i < 8; i++) t.link.inject(t.segment(ACK, 101 + i * 1460, t.iss + 1, new Uint8Array(1460)))
    await settle()
    const acks = t.sent()
    expect(acks.map(a => a.ack - 101)).toEqual([8 * 1460])
    expect(received).toBe(8 * 1460)
    // Without coalescing: one ACK for every second segment, 4 in all; 3 were saved.
    expect(t.stack.counters.acksCoalesced).toBe(3)
    expect(t.stack.counters.fastPathData).toBe(8)
  })

  it('the same segments one batch each get an ACK for every second one, as without batches', async () => {
    const t = await batchedPeer()
    for (let i = 0; i < 8; i++) {
      t.link.inject(t.segment(ACK, 101 + i * 1460, t.iss + 1, new Uint8Array(1460)))
      await settle()
    }
    expect(t.sent().map(a => a.ack - 101)).toEqual([2, 4, 6, 8].map(n => n * 1460))
    expect(t.stack.counters.acksCoalesced).toBe(0)
  })

  it('a duplicate ACK for out-of-order data still goes at once, and the batch end sends nothing more', async () => {
    const t = await batchedPeer()
    t.link.inject(t.segment(ACK, 101, t.iss + 1, new Uint8Array(1460)))
    t.link.inject(t.segment(ACK, 101 + 1460, t.iss + 1, new Uint8Array(1460)))
    t.link.inject(t.segment(ACK, 101 + 4 * 1460, t.iss + 1, new Uint8Array(1460))) // a gap: two segments lost
    t.link.inject(t.segment(ACK, 101 + 5 * 1460, t.iss + 1, new Uint8Array(1460)))
    await settle()
    // The held ACK for the first two went out as the first duplicate ACK (RFC 5681 4.2), then one more.
    expect(t.sent().map(a => a.ack - 101)).toEqual([2 * 1460, 2 * 1460])
  })

  /** A connection whose receive window has opened past 64 KiB: 138 segments sent one per batch, read, and all ACKed. */
  async function openWindow(tcp: Partial<TcpConfig> = {}) {
    const t = await batchedPeer(tcp, () => {}, { mss: 1460, windowScale: 7 })
    let received = 0
    t.socket.on('data', (c: Buffer) => { received += c.length })
    for (let i = 0; i < 138; i++) {
      t.link.inject(t.segment(ACK, 101 + i * 1460, t.iss + 1, new Uint8Array(1460)))
      await settle()
    }
    const last = t.sent().at(-1)!
    expect(last.window << 7).toBeGreaterThan(200_000)
    expect(last.ack).toBe(101 + 138 * 1460)
    return { ...t, next: 101 + 138 * 1460, received: () => received }
  }

  it('one coalesced ACK covers at most 64 KiB: the 44th of 50 full-sized segments is ACKed at once, the rest at the end (ackCoalescingMaxBytes, as GRO)', async () => {
    const t = await openWindow()
    for (let i = 0; i < 50; i++) t.link.inject(t.segment(ACK, t.next + i * 1460, t.iss + 1, new Uint8Array(1460)))
    await settle()
    // 44 segments are 64,240 bytes: one more would not fit in 65,536.
    expect(t.sent().map(a => a.ack - t.next)).toEqual([44 * 1460, 50 * 1460])
  })

  it("each offloaded packet of a batch (44 full segments, as large as the kernel's TSO packets at this MSS) gets its own ACK, as Linux ACKs each GRO packet", async () => {
    const t = await openWindow()
    const before = t.received()
    const size = 44 * 1460
    for (let i = 0; i < 3; i++) t.link.inject(t.segment(ACK, t.next + i * size, t.iss + 1, new Uint8Array(size)))
    await settle()
    expect(t.sent().map(a => a.ack - t.next)).toEqual([size, 2 * size, 3 * size])
    expect(t.received() - before).toBe(3 * size)
  })

  it('with ackCoalescingMaxBytes Infinity the 50 segments get one ACK', async () => {
    const t = await openWindow({ ackCoalescingMaxBytes: Infinity })
    for (let i = 0; i < 50; i++) t.link.inject(t.segment(ACK, t.next + i * 1460, t.iss + 1, new Uint8Array(1460)))
    await settle()
    expect(t.sent().map(a => a.ack - t.next)).toEqual([50 * 1460])
  })

  it('is off with tcp.ackCoalescing false', async () => {
    const t = await batchedPeer({ ackCoalescing: false })
    for (let i = 0; i < 8; i++) t.link.inject(t.segment(ACK, 101 + i * 1460, t.iss + 1, new Uint8Array(1460)))
    await settle()
    expect(t.sent().map(a => a.ack - 101)).toEqual([2, 4, 6, 8].map(n => n * 1460))
  })

  it('a FIN in the batch is ACKed at once; nothing is sent for a connection that closed', async () => {
    const t = await batchedPeer()
    t.socket.on('data', () => {})
    t.link.inject(t.segment(ACK, 101, t.iss + 1, new Uint8Array(1460)))
    t.link.inject(t.segment(ACK, 101 + 1460, t.iss + 1, new Uint8Array(1460)))
    t.link.inject(t.segment(ACK | FIN, 101 + 2920, t.iss + 1))
    await settle()
    const out = t.sent()
    expect(out.map(a => [a.flags & FIN, a.ack - 101])[0]).toEqual([0, 2921])
    expect(out.slice(1).every(a => (a.flags & FIN) !== 0)).toBe(true) // then at most our own FIN
  })
})

// ---- the property: the fast path changes nothing ----

/** One step of the peer or of the application. Numbers are relative to where the connection is. */
type Step =
  | { type: 'segment'; seq: number; ack: number; length: number; flags: number; window: number; ts: 'next' | 'same' | 'old' | 'none'; sack: boolean }
  | { type: 'write'; length: number }
  | { type: 'pause' | 'resume' }
  | { type: 'wait'; ms: number }

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 10, arbitrary: fc.record({
    type: fc.constant('segment' as const),
    // Mostly at RCV.NXT; sometimes ahead (out of order) or behind (old).
    seq: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -3000, max: 3000 }) }),
    // A fraction of what is in flight acknowledged, in thousandths; sometimes nothing new, or beyond SND.NXT.
    ack: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 1000 }) }, { weight: 2, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constant(1500) }),
    length: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 200 }), fc.constant(1448), fc.integer({ min: 1449, max: 9000 })),
    flags: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(ACK, ACK | PSH) }, { weight: 1, arbitrary: fc.constantFrom(ACK | FIN, ACK | URG, ACK | 0x40, 0) }),
    window: fc.oneof({ weight: 6, arbitrary: fc.constant(WIN) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 600 }) }),
    ts: fc.oneof({ weight: 8, arbitrary: fc.constant('next' as const) }, { weight: 1, arbitrary: fc.constantFrom('same' as const, 'old' as const, 'none' as const) }),
    sack: fc.boolean(),
  }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('write' as const), length: fc.integer({ min: 1, max: 20_000 }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constantFrom('pause' as const, 'resume' as const) }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('wait' as const), ms: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 500 })) }) },
)

/** Everything a TCB holds, as plain values: numbers, flags, each timer's due time, the queues' sizes. */
function snapshot(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return typeof value === 'function' ? undefined : value
  if (value instanceof Timer) return value.armed ? value.expiresAt : 'disarmed'
  if (value instanceof Uint8Array) return value.length
  if (depth > 3) return '...'
  if (Array.isArray(value)) return value.map(v => snapshot(v, depth + 1))
  const out: Record<string, unknown> = {}
  for (const [key, v] of Object.entries(value)) {
    if (key === 'host' || key === 'user' || key === 'config' || key === 'timeWait') continue
    out[key] = snapshot(v, depth + 1)
  }
  return out
}

/** The same peer and application steps, applied to two connections. */
class Twins {
  constructor(readonly fast: Conn, readonly full: Conn) {}
  readonly fastData: number[] = []
  readonly fullData: number[] = []

  static async open(syn: TcpOptions): Promise<Twins> {
    const t = new Twins(await established({ headerPrediction: true }, syn), await established({ headerPrediction: false }, syn))
    t.fast.socket.on('data', (c: Buffer) => t.fastData.push(c.length))
    t.full.socket.on('data', (c: Buffer) => t.fullData.push(c.length))
    t.fast.socket.on('error', () => {})
    t.full.socket.on('error', () => {})
    await settle()
    return t
  }

  async apply(s: Step): Promise<void> {
    const c = this.fast // the steps are made from one of them; both must be in the same place
    switch (s.type) {
      case 'write':
        for (const x of [this.fast, this.full]) if (!x.socket.destroyed && x.socket.writable) x.socket.write(Buffer.alloc(s.length, 1))
        return settle()
      case 'pause':
        this.fast.socket.pause(); this.full.socket.pause()
        return settle()
      case 'resume':
        this.fast.socket.resume(); this.full.socket.resume()
        return settle()
      case 'wait':
        await this.fast.p.run(s.ms)
        await this.full.p.run(s.ms)
        return
      case 'segment': {
        const flight = sndNxt(c) - sndUna(c)
        const ack = sndUna(c) + Math.floor((flight * s.ack) / 1000)
        const tsVal = s.ts === 'next' ? c.tsVal + 1 : s.ts === 'same' ? c.tsVal : c.tsVal - 100
        if (s.ts === 'next') { this.fast.tsVal++; this.full.tsVal++ }
        const options: TcpOptions = {}
        if (s.ts !== 'none') options.timestamp = { value: tsVal >>> 0, echo: (tsNow(c) - 3) >>> 0 }
        if (s.sack && flight > 2) options.sackBlocks = [{ left: (c.tcb.sndUna + Math.floor(flight / 2)) >>> 0, right: c.tcb.sndNxt }]
        const packet = buildTcpPacket({
          src: 0x0a000001, dst: 0x0a000002, srcPort: c.p.peerPort, dstPort: 80,
          seq: (c.tcb.rcvNxt + s.seq) >>> 0, ack: (c.tcb.iss + ack) >>> 0,
          flags: s.flags, window: s.window, options, payload: new Uint8Array(s.length),
        })
        await this.fast.p.sendRaw(packet)
        await this.full.p.sendRaw(packet)
      }
    }
  }

  /** Both connections in the same state, having sent the same bytes and delivered the same data. */
  check(): void {
    expect(this.fast.p.link.sent).toEqual(this.full.p.link.sent)
    this.fast.p.link.sent.length = 0
    this.full.p.link.sent.length = 0
    expect(snapshot(this.fast.tcb)).toEqual(snapshot(this.full.tcb))
    expect(this.fastData).toEqual(this.fullData)
    const { fastPathAcks: _a, fastPathData: _d, ...fastCounters } = this.fast.p.stack.counters.toJSON()
    const { fastPathAcks: _b, fastPathData: _e, ...fullCounters } = this.full.p.stack.counters.toJSON()
    expect(fastCounters).toEqual(fullCounters)
  }
}

describe('header prediction changes nothing (property)', () => {
  it('random segments in ESTABLISHED: the same TCB state and the same segments sent, with and without it', async () => {
    let taken = 0
    let segments = 0
    await fc.assert(fc.asyncProperty(
      fc.constantFrom<TcpOptions>(ALL_OPTIONS, { mss: 1460 }, { mss: 1460, timestamp: { value: 1000, echo: 0 } }, { mss: 1460, sackPermitted: true, windowScale: 2 }),
      fc.array(step, { minLength: 1, maxLength: 40 }),
      async (syn, steps) => {
        const t = await Twins.open(syn)
        t.check()
        for (const s of steps) {
          await t.apply(s)
          t.check()
          if (s.type === 'segment') segments++
        }
        taken += t.fast.p.stack.counters.fastPathAcks + t.fast.p.stack.counters.fastPathData
        expect(t.full.p.stack.counters.fastPathAcks + t.full.p.stack.counters.fastPathData).toBe(0)
      },
    ), { numRuns: RUNS })
    // The property says something only if the fast path was taken often.
    expect(taken).toBeGreaterThan(segments / 5)
  }, 120_000)
})
