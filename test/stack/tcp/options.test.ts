// TCP options, in packets and in virtual time: window scaling and timestamps
// (RFC 7323), SACK (RFC 2018). Each is on only when both SYNs carry it.
import { describe, expect, it } from 'vitest'
import { createHash } from 'node:crypto'
import { PacketPeer, PEER } from '../../helpers/packet-peer'
import { A, B, collect, twoStacks } from '../../helpers/two-stacks'
import { ClockGroup, runFor, runUntil, settle } from '../../helpers/virtual-time'
import { Stack } from '../../../src/stack/stack'
import { SeededRandom } from '../../../src/stack/random'
import { linkPair } from '../../../src/tun/memory-link'
import type { Socket } from '../../../src/stack/socket/socket'
import type { TcpOptions } from '../../../src/stack/wire/tcp'
import type { TcpConfig } from '../../../src/stack/tcp/config'

/** Two stacks as twoStacks makes them, each with its own TCP config. */
function pair(aTcp: Partial<TcpConfig>, bTcp: Partial<TcpConfig>) {
  const clock = new ClockGroup(1_000)
  const [linkA, linkB] = linkPair({ mtu: 1500 })
  const a = new Stack({ address: A, link: linkA, clock: clock.clock(), random: new SeededRandom(1), tcp: aTcp })
  const b = new Stack({ address: B, link: linkB, clock: clock.clock(), random: new SeededRandom(2), tcp: bTcp })
  return { clock, a, b }
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')
const ts = (value: number, echo: number): TcpOptions => ({ timestamp: { value, echo } })

/** A listener on port 80 and the peer's SYN with `synOptions`; returns the SYN,ACK. */
async function passive(synOptions: TcpOptions, config: Partial<TcpConfig> = {}) {
  const p = new PacketPeer({ tcp: config })
  let socket: Socket | undefined
  p.stack.createServer(s => { socket = s }).listen(80)
  await settle()
  await p.send('S', { seq: 0, win: 65535, options: { mss: 1460, ...synOptions } })
  const synAck = p.expect('S.', { seq: 0, ack: 1 })
  return { p, synAck, socket: () => socket! }
}

describe('negotiation (RFC 7323 2.2, 3.2; RFC 2018 2)', () => {
  it('our SYN offers MSS, window scale, SACK-permitted and timestamps (TSecr 0)', async () => {
    const p = new PacketPeer()
    p.stack.connect({ host: PEER, port: 40_000, localPort: 80 })
    await settle()
    const syn = p.expect('S')
    expect(syn.options.mss).toBe(1460)
    expect(syn.options.windowScale).toBe(6) // 65535 << 6 covers the 2 MiB receive buffer
    expect(syn.options.sackPermitted).toBe(true)
    expect(syn.options.timestamp?.echo).toBe(0)
    expect(syn.window).toBe(65535) // a SYN's window is never scaled
  })

  it('a SYN,ACK carries only the options the SYN offered, for each of the 8 combinations', async () => {
    for (let mask = 0; mask < 8; mask++) {
      const offer: TcpOptions = {}
      if (mask & 1) offer.windowScale = 7
      if (mask & 2) offer.sackPermitted = true
      if (mask & 4) offer.timestamp = { value: 100, echo: 0 }
      const { p, synAck } = await passive(offer)
      expect(synAck.options.windowScale !== undefined, `wscale, mask ${mask}`).toBe((mask & 1) !== 0)
      expect(synAck.options.sackPermitted === true, `sack, mask ${mask}`).toBe((mask & 2) !== 0)
      expect(synAck.options.timestamp !== undefined, `ts, mask ${mask}`).toBe((mask & 4) !== 0)
      if (mask & 4) expect(synAck.options.timestamp!.echo).toBe(100)
      expect(synAck.window).toBe(65535)
      await p.send('.', { seq: 1, ack: 1, options: mask & 4 ? ts(101, synAck.options.timestamp!.value) : {} })
      const info = p.stack.connections()[0]!
      expect(info.state).toBe('ESTABLISHED')
      expect(info.options).toEqual({
        wscale: mask & 1 ? { snd: 7, rcv: 6 } : null,
        sack: (mask & 2) !== 0,
        timestamps: (mask & 4) !== 0,
        ecn: false, // the SYN did not ask (RFC 3168 6.1.1)
      })
      // With timestamps on, 12 bytes of every segment go to the option (RFC 9293 3.7.1).
      expect(info.mss).toBe(mask & 4 ? 1448 : 1460)
    }
  })

  it('each option is on only when both ends enable it: every combination between two stacks', async () => {
    for (let mask = 0; mask < 8; mask++) {
      const config = { windowScaling: (mask & 1) !== 0, sack: (mask & 2) !== 0, timestamps: (mask & 4) !== 0 }
      for (const [aConfig, bConfig] of [[{}, config], [config, {}]] as const) {
        const net = pair(aConfig, bConfig)
        net.b.createServer(s => s.pipe(s)).listen(7)
        const sock = net.a.connect({ host: B, port: 7 })
        const got = collect(sock)
        await runFor(net.clock, 10)
        const expected = {
          wscale: mask & 1 ? { snd: 6, rcv: 6 } : null,
          sack: (mask & 2) !== 0,
          timestamps: (mask & 4) !== 0,
          ecn: false, // neither asks: tcp_ecn 2 (ecn.test.ts has the other settings)
        }
        expect(net.a.connections()[0]!.options, `A, mask ${mask}`).toEqual(expected)
        expect(net.b.connections()[0]!.options, `B, mask ${mask}`).toEqual(expected)
        const data = Buffer.alloc(200_000, mask)
        sock.end(data)
        await runUntil(net.clock, () => got.ended())
        expect(sha(got.data())).toBe(sha(data))
      }
    }
  })

  it('a shift above 14 is taken as 14 (RFC 7323 2.3)', async () => {
    const { p } = await passive({ windowScale: 20 })
    await p.send('.', { seq: 1, ack: 1 })
    expect(p.stack.connections()[0]!.options.wscale).toEqual({ snd: 14, rcv: 6 })
  })
})

describe('window scaling (RFC 7323 2)', () => {
  it('scales the windows after the SYNs, never in them, both ways', async () => {
    const { p, synAck, socket } = await passive({ windowScale: 7 })
    expect(synAck.window).toBe(65535)
    await p.send('.', { seq: 1, ack: 1, win: 1000 }) // 1000 << 7: a window of 128000 bytes
    socket().write(Buffer.alloc(1_000_000, 1))
    await settle()
    // ACK all each round: the congestion window grows until the peer's scaled window limits the flight.
    let acked = 1
    let sndNxt = 1
    let maxFlight = 0
    let field = 0
    for (let round = 0; round < 12; round++) {
      for (let s = p.take(); s !== undefined; s = p.take()) {
        sndNxt = Math.max(sndNxt, ((s.seq - p.iss!) >>> 0) + s.payload.length)
        field = s.window
      }
      maxFlight = Math.max(maxFlight, sndNxt - acked)
      acked = sndNxt
      await p.send('.', { seq: 1, ack: acked, win: 1000 })
    }
    // Far more than 64 KiB in flight, never past the window: 87 full segments (the last
    // 980 bytes of the window wait, sender SWS avoidance).
    expect(maxFlight).toBe(87 * 1460)
    // Our window field is our free buffer >> 6: 2 MiB / 64.
    expect(field).toBe(32768)
  })

  it('keeps far more than 64 KiB in flight between two stacks', async () => {
    const net = twoStacks()
    let server: Socket | undefined
    net.b.createServer(s => { server = s; s.pause() }).listen(9)
    const sock = net.a.connect({ host: B, port: 9 })
    await runFor(net.clock, 10)
    sock.write(Buffer.alloc(1_500_000, 7))
    await runFor(net.clock, 100)
    // The reader is paused: the whole 1.5 MB sits in B's receive buffer (2 MiB), none of it refused.
    expect(server!.readableLength).toBe(1_500_000)
    expect(net.a.connections()[0]!.sendQueue).toBe(0)
  })
})

describe('timestamps (RFC 7323 3, 4)', () => {
  async function withTimestamps(config: Partial<TcpConfig> = {}) {
    const r = await passive({ timestamp: { value: 1000, echo: 0 } }, config)
    const ourTs = r.synAck.options.timestamp!.value
    await r.p.send('.', { seq: 1, ack: 1, options: ts(1001, ourTs) })
    return { ...r, ourTs }
  }

  it('every segment carries TSopt; TSecr echoes TS.Recent', async () => {
    const { p, socket } = await withTimestamps()
    socket().write('hi')
    await settle()
    const seg = p.expect('P.', { seq: 1, len: 2 })
    expect(seg.options.timestamp?.echo).toBe(1001)
  })

  it('a delayed ACK echoes the earlier of two segments (TS.Recent only moves for SEG.SEQ <= Last.ACK.sent, 4.3)', async () => {
    const { p } = await withTimestamps()
    await p.send('P.', { seq: 1, ack: 1, data: 'a', options: ts(2000, 0) })
    p.expectNothing() // the ACK is delayed
    await p.send('P.', { seq: 2, ack: 1, data: 'b', options: ts(2001, 0) })
    const ack = p.expect('.', { ack: 3 })
    expect(ack.options.timestamp?.echo).toBe(2000)
    await p.send('P.', { seq: 3, ack: 1, data: 'c', options: ts(2002, 0) })
    await p.run(40)
    expect(p.expect('.', { ack: 4 }).options.timestamp?.echo).toBe(2002)
  })

  it('counts full-sized segments as the MSS less the timestamps: two of 1448 bytes are ACKed at once (9293 3.8.6.3)', async () => {
    const { p } = await withTimestamps()
    await p.send('.', { seq: 1, ack: 1, data: 'm'.repeat(1448), options: ts(1002, 0) })
    p.expectNothing() // one segment: the ACK is delayed
    await p.send('.', { seq: 1449, ack: 1, data: 'm'.repeat(1448), options: ts(1003, 0) })
    p.expect('.', { ack: 2897 })
    await p.send('.', { seq: 2897, ack: 1, data: 'm'.repeat(2 * 1448), options: ts(1004, 0) }) // one offloaded segment of two
    p.expect('.', { ack: 2897 + 2896 })
  })

  it('measures the RTT from TSecr (RFC 7323 4.1, fed to RFC 6298)', async () => {
    const { p, synAck, socket } = await passive({ timestamp: { value: 1000, echo: 0 } })
    await p.run(50)
    await p.send('.', { seq: 1, ack: 1, options: ts(1001, synAck.options.timestamp!.value) })
    expect(p.stack.connections()[0]!.rttMs).toBe(50) // the SYN,ACK's round trip
    socket().write('x'.repeat(100))
    await settle()
    const seg = p.expect('P.', { seq: 1, len: 100 })
    await p.run(80)
    await p.send('.', { seq: 1, ack: 101, options: ts(1002, seg.options.timestamp!.value) })
    let srtt = 50 * 0.875 + 80 * 0.125
    expect(p.stack.connections()[0]!.rttMs).toBe(srtt)
    // A retransmission carries a new TSval, so its ACK still gives a true sample (no Karn's rule needed).
    socket().write('y'.repeat(100))
    await settle()
    p.expect('P.', { seq: 101, len: 100 })
    await p.run(200) // RTO (the 200 ms floor): the segment goes again
    const again = p.expect('P.', { seq: 101, len: 100 })
    expect(again.options.timestamp!.value).toBeGreaterThan(seg.options.timestamp!.value)
    await p.run(30)
    await p.send('.', { seq: 1, ack: 201, options: ts(1003, again.options.timestamp!.value) })
    srtt = srtt * 0.875 + 30 * 0.125
    expect(p.stack.connections()[0]!.rttMs).toBe(srtt)
  })

  it('PAWS: drops a segment with an old TSval and ACKs it, but a RST is exempt (5.3)', async () => {
    const { p, socket } = await withTimestamps()
    const got: string[] = []
    socket().on('data', c => got.push(c.toString()))
    socket().on('error', () => {})
    await p.send('P.', { seq: 1, ack: 1, data: 'old', options: ts(900, 0) })
    const ack = p.expect('.', { ack: 1 })
    expect(ack.options.timestamp?.echo).toBe(1001) // TS.Recent unchanged
    expect(got).toEqual([])
    expect(p.stack.counters.drops['tcp-paws']).toBe(1)
    await p.send('P.', { seq: 1, ack: 1, data: 'new', options: ts(1005, 0) })
    await settle()
    expect(got).toEqual(['new'])
    await p.send('R.', { seq: 4, ack: 1, options: ts(1, 0) })
    expect(p.stack.connections()).toEqual([])
  })

  it('PAWS lets a reordered duplicate ACK through, as Linux does (tcp_disordered_ack), and leaves TS.Recent', async () => {
    const { p, socket } = await withTimestamps()
    await p.send('.', { seq: 1, ack: 1, options: ts(1005, 0) })
    // An ACK sent before that one arrives after it: a pure ACK at RCV.NXT, acknowledging SND.UNA.
    await p.send('.', { seq: 1, ack: 1, options: ts(1003, 0) })
    p.expectNothing() // not answered as an old duplicate would be
    expect(p.stack.counters.drops['tcp-paws']).toBeUndefined()
    // TS.Recent stayed at the newer TSval: the next segment we send echoes 1005.
    socket().write('x')
    await settle()
    expect(p.expect('P.', { seq: 1, len: 1 }).options.timestamp?.echo).toBe(1005)
  })

  it('PAWS still drops a reordered duplicate ACK that would change the send window (tcp_disordered_ack, 3)', async () => {
    const { p } = await withTimestamps()
    await p.send('.', { seq: 1, ack: 1, options: ts(1005, 0) })
    // Same SEQ and ACK, older TSval, but another window: the window-update rule would take it.
    await p.send('.', { seq: 1, ack: 1, win: 1000, options: ts(1003, 0) })
    expect(p.stack.counters.drops['tcp-paws']).toBe(1)
    expect(p.expect('.', { ack: 1 }).options.timestamp?.echo).toBe(1005) // answered as an old duplicate
  })

  it('PAWS still drops a duplicate ACK whose TSval is more than an RTO behind TS.Recent (tcp_disordered_ack, 4)', async () => {
    const { p } = await withTimestamps()
    await p.send('.', { seq: 1, ack: 1, options: ts(100_000, 0) })
    // 60 s older than TS.Recent, far beyond any RTO (ms on both clocks): not a reordering in flight.
    await p.send('.', { seq: 1, ack: 1, options: ts(40_000, 0) })
    expect(p.stack.counters.drops['tcp-paws']).toBe(1)
    p.expect('.', { ack: 1 })
  })

  it('drops a non-RST segment without TSopt once timestamps are on (3.2)', async () => {
    const { p } = await withTimestamps()
    await p.send('P.', { seq: 1, ack: 1, data: 'bare' })
    p.expectNothing()
    expect(p.stack.counters.drops['tcp-no-timestamp']).toBe(1)
  })

  it('takes a segment without TSopt, skipping PAWS for it, with timestampsRequired off (Linux)', async () => {
    const { p, socket } = await withTimestamps({ timestampsRequired: false })
    const got: string[] = []
    socket().on('data', c => got.push(c.toString()))
    await p.send('P.', { seq: 1, ack: 1, data: 'bare' })
    await settle()
    expect(got).toEqual(['bare'])
    expect(p.stack.counters.drops['tcp-no-timestamp']).toBeUndefined()
    // TS.Recent is not moved by it: an older TSval than the last one is still PAWS-dropped.
    await p.send('P.', { seq: 5, ack: 1, data: 'old', options: ts(900, 0) })
    expect(p.stack.counters.drops['tcp-paws']).toBe(1)
  })

  it('after 24 idle days TS.Recent is no longer valid, and an older TSval is accepted (5.5)', async () => {
    const { p, socket } = await withTimestamps()
    const got: string[] = []
    socket().on('data', c => got.push(c.toString()))
    await p.run(25 * 24 * 3600 * 1000)
    await p.send('P.', { seq: 1, ack: 1, data: 'late', options: ts(5, 0) })
    await settle()
    expect(got).toEqual(['late'])
    await p.run(40)
    expect(p.expect('.', { ack: 5 }).options.timestamp?.echo).toBe(5)
  })
})

describe('SACK (RFC 2018)', () => {
  it('the receiver reports out-of-order data, the newest block first, and ACKs at once', async () => {
    const { p } = await passive({ sackPermitted: true })
    await p.send('.', { seq: 1, ack: 1 })
    const chunk = 'z'.repeat(1000)
    await p.send('.', { seq: 1, ack: 1, data: chunk }) // in order
    await p.send('.', { seq: 2001, ack: 1, data: chunk }) // hole 1001..2001
    let ack = p.expect('.', { ack: 1001 })
    const rel = (o: TcpOptions) => o.sackBlocks?.map(b => [(b.left - 0x7000_0000) >>> 0, (b.right - 0x7000_0000) >>> 0])
    expect(rel(ack.options)).toEqual([[2001, 3001]])
    await p.send('.', { seq: 4001, ack: 1, data: chunk }) // hole 3001..4001
    ack = p.expect('.', { ack: 1001 })
    expect(rel(ack.options)).toEqual([[4001, 5001], [2001, 3001]])
    await p.send('.', { seq: 3001, ack: 1, data: chunk }) // fills the second hole: one block now
    ack = p.expect('.', { ack: 1001 })
    expect(rel(ack.options)).toEqual([[2001, 5001]])
    await p.send('.', { seq: 1001, ack: 1, data: chunk }) // fills the first: no blocks, ACK at once
    ack = p.expect('.', { ack: 5001 })
    expect(ack.options.sackBlocks).toBeUndefined()
  })

  it('sends at most 3 blocks beside timestamps and 4 without', async () => {
    for (const withTs of [false, true]) {
      const { p, synAck } = await passive({ sackPermitted: true, ...(withTs ? ts(1, 0) : {}) })
      const o = (v: number) => (withTs ? ts(v, synAck.options.timestamp!.value) : {})
      await p.send('.', { seq: 1, ack: 1, options: o(2) })
      for (let i = 0; i < 6; i++) await p.send('.', { seq: 101 + i * 200, ack: 1, data: 'q'.repeat(100), options: o(3) })
      let last
      for (let s = p.take(); s !== undefined; s = p.take()) last = s
      expect(last!.options.sackBlocks!.length).toBe(withTs ? 3 : 4)
      expect((last!.options.sackBlocks![0]!.left - 0x7000_0000) >>> 0).toBe(1101) // the newest first
    }
  })

  it('the sender reads SACK blocks into its scoreboard, and forgets them as SND.UNA passes', async () => {
    const { p, socket } = await passive({ sackPermitted: true })
    await p.send('.', { seq: 1, ack: 1 })
    socket().write(Buffer.alloc(5 * 1460, 1))
    await settle()
    for (let s = p.take(); s !== undefined; s = p.take());
    const base = p.iss!
    const block = (l: number, r: number) => ({ left: (base + l) >>> 0, right: (base + r) >>> 0 })
    await p.send('.', { seq: 1, ack: 1, options: { sackBlocks: [block(2921, 4381)] } })
    expect(p.stack.connections()[0]!.sackedBytes).toBe(1460)
    await p.send('.', { seq: 1, ack: 1, options: { sackBlocks: [block(5841, 7301), block(2921, 4381)] } })
    expect(p.stack.connections()[0]!.sackedBytes).toBe(2920)
    await p.send('.', { seq: 1, ack: 4381, options: { sackBlocks: [block(5841, 7301)] } })
    expect(p.stack.connections()[0]!.sackedBytes).toBe(1460)
    // A block past SND.NXT is bogus and ignored.
    await p.send('.', { seq: 1, ack: 4381, options: { sackBlocks: [block(9000, 9100)] } })
    expect(p.stack.connections()[0]!.sackedBytes).toBe(1460)
  })

  it('without SACK negotiated, blocks are neither sent nor read', async () => {
    const { p, socket } = await passive({})
    await p.send('.', { seq: 1, ack: 1 })
    await p.send('.', { seq: 2001, ack: 1, data: 'x'.repeat(100) })
    expect(p.expect('.', { ack: 1 }).options.sackBlocks).toBeUndefined()
    socket().write(Buffer.alloc(3000, 1))
    await settle()
    for (let s = p.take(); s !== undefined; s = p.take());
    await p.send('.', { seq: 1, ack: 1, options: { sackBlocks: [{ left: (p.iss! + 1461) >>> 0, right: (p.iss! + 2921) >>> 0 }] } })
    expect(p.stack.connections()[0]!.sackedBytes).toBe(0)
  })
})
