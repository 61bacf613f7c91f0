// The sender under congestion control, in packets: the test plays a receiver
// with a large window (scale 7) and acknowledges, loses or duplicates at will.
import { describe, expect, it } from 'vitest'
import { PacketPeer, acceptedSender } from '../../../helpers/packet-peer'
import { settle } from '../../../helpers/virtual-time'
import type { TcpSegment } from '../../../../src/stack/wire/tcp'
import type { CongestionControlName } from '../../../../src/stack/tcp/congestion'

const MSS = 1460

function established(cc: CongestionControlName = 'newreno', sack = false) {
  return acceptedSender({ tcp: { congestionControl: cc }, sack })
}

/** Relative sequence number of a segment's first byte, and of the byte after it. */
const rel = (p: PacketPeer, seq: number) => (seq - p.iss!) >>> 0
const end = (p: PacketPeer, s: TcpSegment) => rel(p, s.seq) + s.payload.length

/** The peer acknowledges up to `ack` (relative), optionally with SACK blocks (relative [left, right)). */
async function ackTo(p: PacketPeer, ack: number, sacks: [number, number][] = []): Promise<void> {
  const blocks = sacks.map(([l, r]) => ({ left: (p.iss! + l) >>> 0, right: (p.iss! + r) >>> 0 }))
  await p.send('.', { seq: 1, ack, options: blocks.length > 0 ? { sackBlocks: blocks } : undefined })
}

describe('initial window and slow start', () => {
  it('sends IW = 10 segments and then waits for ACKs (RFC 6928)', async () => {
    const { p, socket } = await established()
    socket.write(Buffer.alloc(1 << 20, 7))
    await settle()
    const first = p.takeAll()
    expect(first.map(s => s.payload.length)).toEqual(Array(10).fill(MSS))
    expect(socket.congestion.cwnd).toBe(10 * MSS)
  })

  for (const cc of ['newreno', 'cubic'] as const) {
    it(`${cc}: doubles the segments sent every round trip in slow start (RFC 5681 3.1)`, async () => {
      const { p, socket } = await established(cc)
      socket.write(Buffer.alloc(1 << 20, 7))
      await settle()
      let round = p.takeAll()
      const perRound = [round.length]
      for (let r = 0; r < 3; r++) {
        const next: TcpSegment[] = []
        for (const s of round) {
          await ackTo(p, end(p, s))
          next.push(...p.takeAll())
        }
        round = next
        perRound.push(round.length)
      }
      expect(perRound).toEqual([10, 20, 40, 80])
    })
  }

  it('application-limited: cwnd grows to twice the largest flight of the window, no further (RFC 7661, Linux tcp_is_cwnd_limited)', async () => {
    const { p, socket } = await established()
    // Five segments with cwnd 10: half of cwnd used validates it (pipeACK >= cwnd/2), so slow start goes on.
    socket.write(Buffer.alloc(5 * MSS, 7))
    await settle()
    const flight = p.takeAll()
    expect(flight).toHaveLength(5)
    for (const s of flight) await ackTo(p, end(p, s))
    expect(socket.congestion.cwnd).toBe(10 * MSS) // already twice the flight of 5: no growth
    // Now 9 segments: cwnd grows by one MSS per ACK while below 18 segments.
    socket.write(Buffer.alloc(9 * MSS, 7))
    await settle()
    const second = p.takeAll()
    expect(second).toHaveLength(9)
    for (const s of second) await ackTo(p, end(p, s))
    expect(socket.congestion.cwnd).toBe(18 * MSS)
  })
})

describe('fast retransmit and fast recovery, NewReno (RFC 5681 3.2, RFC 6582)', () => {
  it('limited transmit on the first two duplicate ACKs, fast retransmit on the third, cwnd halved', async () => {
    const { p, socket } = await established()
    socket.write(Buffer.alloc(1 << 20, 7))
    await settle()
    expect(p.takeAll()).toHaveLength(10)
    // Segment 1 is lost; segments 2, 3, 4 each bring a duplicate ACK.
    await ackTo(p, 1)
    expect(p.takeAll().map(s => rel(p, s.seq))).toEqual([1 + 10 * MSS]) // RFC 3042: one new segment
    await ackTo(p, 1)
    expect(p.takeAll().map(s => rel(p, s.seq))).toEqual([1 + 11 * MSS])
    await ackTo(p, 1)
    const rtx = p.takeAll()
    expect(rtx.map(s => [rel(p, s.seq), s.payload.length])).toEqual([[1, MSS]])
    // ssthresh = FlightSize / 2 without the limited-transmit segments. PRR (RFC 6937 3): cwnd =
    // pipe + sndcnt, pipe = 12 in flight - 3 arrived - the lost one; sndcnt one segment, the retransmission.
    expect(socket.congestion.ssthresh).toBe(5 * MSS)
    expect(socket.congestion.cwnd).toBe(9 * MSS)
    expect(p.stack.counters.retransmissions).toBe(1)
    // Nine more duplicate ACKs: while pipe > ssthresh one new segment per two ACKs (ssthresh /
    // RecoverFS = 5/10), then, pipe at ssthresh, one per ACK delivered (PRR's reduction bound).
    const sent: number[] = []
    for (let i = 0; i < 9; i++) {
      await ackTo(p, 1)
      sent.push(p.takeAll().length)
    }
    expect(sent).toEqual([0, 1, 0, 1, 0, 0, 1, 1, 1])
    // The retransmission arrives: a full ACK of everything sent before the loss.
    await ackTo(p, 1 + 12 * MSS)
    expect(socket.congestion.cwnd).toBe(5 * MSS) // cwnd = ssthresh (RFC 6582 3.2 step 3, RFC 6937 3)
  })

  it('resends the next hole after a partial ACK as PRR allows (RFC 6582 3.2 step 4, RFC 6937 3)', async () => {
    const { p, socket } = await established()
    socket.write(Buffer.alloc(1 << 20, 7))
    await settle()
    p.takeAll()
    // Segments 1 and 5 are lost.
    for (let i = 0; i < 3; i++) await ackTo(p, 1)
    expect(p.takeAll().map(s => rel(p, s.seq))).toEqual([1 + 10 * MSS, 1 + 11 * MSS, 1])
    // The retransmitted segment 1 fills the first hole: the ACK stops at segment 5. It
    // delivered one segment (the other three were counted by the duplicate ACKs): two of the
    // ten of RecoverFS, one segment's worth at ssthresh/RecoverFS, and that one went already.
    await ackTo(p, 1 + 4 * MSS)
    expect(p.takeAll()).toEqual([])
    // Segment 6 arrives: three delivered, two may go; segment 5 first, the next hole.
    await ackTo(p, 1 + 4 * MSS)
    expect(p.takeAll().map(s => rel(p, s.seq))).toEqual([1 + 4 * MSS])
    expect(p.stack.counters.retransmissions).toBe(2)
    expect(socket.congestion.ssthresh).toBe(5 * MSS) // one window, one reduction
  })

  it('no fast retransmit for duplicate ACKs at or below `recover` after a timeout (RFC 6582 3.2 step 1, 4)', async () => {
    const { p, socket } = await established()
    socket.write(Buffer.alloc(1 << 20, 7))
    await settle()
    p.takeAll()
    await p.run(200) // RTO: recover = the highest sequence number sent
    expect(p.takeAll()).toHaveLength(1)
    const ssthresh = socket.congestion.ssthresh
    for (let i = 0; i < 4; i++) await ackTo(p, 1) // late duplicates of the old window
    expect(p.takeAll()).toEqual([])
    expect(socket.congestion.ssthresh).toBe(ssthresh) // not halved twice for one window
    expect(p.stack.counters.retransmissions).toBe(1)
  })
})

describe('SACK loss recovery (RFC 6675)', () => {
  it('resends every hole SACK shows lost, without waiting for partial ACKs', async () => {
    const { p, socket } = await established('newreno', true)
    socket.write(Buffer.alloc(1 << 20, 7))
    await settle()
    p.takeAll()
    // Segments 1 and 5 lost; 2..4 and 6..10 arrive and are SACKed.
    const seg = (n: number) => 1 + (n - 1) * MSS
    await ackTo(p, 1, [[seg(2), seg(3)]])
    await ackTo(p, 1, [[seg(2), seg(4)]])
    p.takeAll() // limited transmit
    await ackTo(p, 1, [[seg(2), seg(5)]])
    expect(p.takeAll().map(s => rel(p, s.seq))).toContain(seg(1))
    expect(socket.congestion.ssthresh).toBe(5 * MSS)
    // Segments 6..12 arrive and are SACKed: more than 2 SMSS SACKed above segment 5 make it
    // lost (IsLost), and as they leave the pipe, cwnd - pipe lets it go again.
    const out: number[] = []
    for (let n = 7; n <= 13; n++) {
      await ackTo(p, 1, [[seg(6), seg(n)], [seg(2), seg(5)]])
      out.push(...p.takeAll().map(s => rel(p, s.seq)))
    }
    expect(out).toContain(seg(5))
    expect(p.stack.counters.retransmissions).toBe(2)
    expect(socket.congestion.cwnd).toBe(5 * MSS) // no inflation with SACK: pipe counts instead
  })
})

describe('tail loss probe (RFC 8985 7)', () => {
  it('with SACK, two RTTs of silence send one probe (new data) before the RTO', async () => {
    const { p, socket } = await established('cubic', true)
    socket.write(Buffer.alloc(1 << 20, 7))
    await settle()
    expect(p.takeAll()).toHaveLength(10)
    await p.run(10) // PTO = max(2 SRTT, 10 ms); SRTT is 0 here, from the handshake
    expect(p.takeAll().map(s => [rel(p, s.seq), s.payload.length])).toEqual([[1 + 10 * MSS, MSS]])
    expect(p.stack.counters.tailLossProbes).toBe(1)
    expect(socket.congestion.cwnd).toBe(10 * MSS) // a probe is not a loss
    await p.run(180)
    expect(p.takeAll()).toEqual([]) // one probe per flight; the RTO comes 200 ms after it
    await p.run(20)
    expect(p.takeAll().map(s => rel(p, s.seq))).toEqual([1])
    expect(p.stack.counters.retransmitTimeouts).toBe(1)
  })

  it('its SACK starts fast recovery: the lost tail goes again without an RTO', async () => {
    const { p, socket } = await established('cubic', true)
    socket.write(Buffer.alloc(11 * MSS, 7))
    await settle()
    p.takeAll()
    const seg = (n: number) => 1 + (n - 1) * MSS
    // Segments 1..7 arrive and are acknowledged; 8, 9 and 10 are lost, and so are no ACKs.
    await ackTo(p, seg(8))
    expect(p.takeAll().map(s => rel(p, s.seq))).toEqual([seg(11)]) // the window slides: segment 11, the last
    await p.run(10)
    const probe = p.takeAll() // nothing new is left: the last segment again
    expect(probe.map(s => rel(p, s.seq))).toEqual([seg(11)])
    // The probe's ACK SACKs it and the duplicates that follow make three: fast retransmit
    // of segment 8, where without the probe only the RTO would have come.
    await ackTo(p, seg(8), [[seg(11), seg(12)]])
    await ackTo(p, seg(8), [[seg(11), seg(12)]])
    await ackTo(p, seg(8), [[seg(11), seg(12)]])
    expect(p.takeAll().map(s => rel(p, s.seq))[0]).toBe(seg(8))
    expect(p.stack.counters.retransmitTimeouts).toBe(0)
  })
})

describe('duplicate ACKs with SACK (RFC 6675 2)', () => {
  it('count even when the window changes, as Linux receivers\' windows do while they grow', async () => {
    const { p, socket } = await established('cubic', true)
    socket.write(Buffer.alloc(1 << 20, 7))
    await settle()
    p.takeAll()
    const seg = (n: number) => 1 + (n - 1) * MSS
    for (let n = 3; n <= 5; n++) {
      await p.send('.', { seq: 1, ack: 1, win: 60000 + n, options: { sackBlocks: [{ left: (p.iss! + seg(2)) >>> 0, right: (p.iss! + seg(n)) >>> 0 }] } })
    }
    expect(p.takeAll().map(s => rel(p, s.seq))).toContain(1)
    expect(p.stack.counters.fastRetransmits).toBe(1)
  })
})

describe('retransmission timeout (RFC 5681 3.1, RFC 6298)', () => {
  for (const cc of ['newreno', 'cubic'] as const) {
    it(`${cc}: collapses cwnd to one segment, then slow-starts through what was lost`, async () => {
      const { p, socket } = await established(cc)
      socket.write(Buffer.alloc(1 << 20, 7))
      await settle()
      expect(p.takeAll()).toHaveLength(10)
      await p.run(200) // every segment lost: the RTO (200 ms, the floor) fires
      const rtx = p.takeAll()
      expect(rtx.map(s => [rel(p, s.seq), s.payload.length])).toEqual([[1, MSS]])
      expect(socket.congestion.cwnd).toBe(MSS)
      expect(socket.congestion.ssthresh).toBe(cc === 'newreno' ? 5 * MSS : 7 * MSS) // beta 0.5 or 0.7
      await ackTo(p, 1 + MSS)
      expect(p.takeAll().map(s => rel(p, s.seq))).toEqual([1 + MSS, 1 + 2 * MSS]) // cwnd 2: go-back-N
    })
  }
})

describe('restart after idle (RFC 5681 4.1)', () => {
  it('sends at most IW after more than an RTO without sending', async () => {
    const { p, socket } = await established()
    socket.write(Buffer.alloc(60 * MSS, 7))
    await settle()
    let round = p.takeAll()
    while (round.length > 0) {
      const next: TcpSegment[] = []
      for (const s of round) { await ackTo(p, end(p, s)); next.push(...p.takeAll()) }
      round = next
    }
    expect(socket.congestion.cwnd).toBeGreaterThan(20 * MSS)
    await p.run(5_000)
    socket.write(Buffer.alloc(100 * MSS, 7))
    await settle()
    expect(p.takeAll()).toHaveLength(10)
  })
})

describe('choosing the algorithm', () => {
  it('is CUBIC by default, as on Linux; per stack with tcp.congestionControl', async () => {
    const def = new PacketPeer()
    const sock = def.stack.connect({ host: '10.0.0.1', port: 9 })
    expect(sock.congestion.algorithm).toBe('cubic')
    const { socket } = await established('newreno')
    expect(socket.congestion.algorithm).toBe('newreno')
    expect(() => new PacketPeer({ tcp: { congestionControl: 'vegas' as CongestionControlName } })).toThrow(/unknown congestion control 'vegas'/)
  })

  it('per socket, before or after connecting (like TCP_CONGESTION); cwnd carries over', async () => {
    const p = new PacketPeer()
    const early = p.stack.connect({ host: '10.0.0.1', port: 9, congestionControl: 'newreno' })
    expect(early.congestion.algorithm).toBe('newreno')
    const { socket } = await established('cubic')
    socket.write(Buffer.alloc(1 << 16))
    await settle()
    const cwnd = socket.congestion.cwnd
    socket.setCongestionControl('newreno')
    expect(socket.congestion).toMatchObject({ algorithm: 'newreno', cwnd })
    expect(() => socket.setCongestionControl('vegas' as CongestionControlName)).toThrow(/unknown congestion control/)
  })

  it('switches to BBR mid-connection: cwnd carries over, pacing starts with its first ACKs', async () => {
    const { p, socket } = await established('cubic', true)
    socket.write(Buffer.alloc(1 << 16))
    await settle()
    const cwnd = socket.congestion.cwnd
    socket.setCongestionControl('bbr')
    expect(socket.congestion).toMatchObject({ algorithm: 'bbr', cwnd })
    const flight = p.takeAll()
    await p.run(20) // a round trip of 20 ms: the rate samples need an interval
    for (const s of flight) await ackTo(p, end(p, s))
    // 10 segments in 20 ms, the first sample's interval: about 724 kB/s.
    expect(socket.info().delivery_rate).toBeGreaterThan(0)
    expect((socket as unknown as { connection: { cc: { pacingRate: number } } }).connection.cc.pacingRate).toBeGreaterThan(0)
  })
})
