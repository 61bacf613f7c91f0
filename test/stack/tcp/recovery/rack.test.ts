// RACK-TLP (RFC 8985; src/stack/tcp/recovery/rack.ts, sent.ts) and D-SACK (RFC 2883), in
// packets: the RFC's cases of loss found by time (a lost retransmission, a hole above the
// first, the reorder timer in recovery), the reordering window growing after a D-SACK, the
// tail loss probe told needless by a D-SACK, our own D-SACK for a duplicate segment, and a
// property: after every ACK the per-segment record, the scoreboard, pipe and cwnd agree.
// The test plays the receiver (window scale 7, so cwnd is the limit) with 20 segments out.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { PacketPeer, acceptedSender } from '../../../helpers/packet-peer'
import { settle } from '../../../helpers/virtual-time'
import type { Tcb } from '../../../../src/stack/tcp/tcb'
import type { TcpSegment } from '../../../../src/stack/wire/tcp'
import { INITIAL_SSTHRESH } from '../../../../src/stack/tcp/congestion'
import { flightSize, isLost, pipe } from '../../../../src/stack/tcp/recovery/detection'
import { seqDiff, seqLe, seqLt } from '../../../../src/stack/tcp/seq'
import { probeAllowed } from '../../../../src/stack/tcp/recovery/timers'
import { LINUX_PROFILE, type TcpConfig } from '../../../../src/stack/tcp/config'
import { tcpInfo } from '../../../../src/stack/tcp-info'

const MSS = 1460
const PEER_ISN = 0x7000_0000

async function established(window = 20, bytes = 4 * window * MSS, tcp: Partial<TcpConfig> = {}) {
  const { p, socket, tcb } = await acceptedSender({ tcp: { congestionControl: 'newreno', ...tcp }, sack: true })
  tcb.cc.cwnd = window * MSS
  if (bytes > 0) socket.write(Buffer.alloc(bytes, 7))
  await settle()
  return { p, socket, tcb }
}

const seg = (n: number) => 1 + (n - 1) * MSS
/** Segment numbers of what went out. */
const nums = (p: PacketPeer, out: TcpSegment[]) => out.filter(s => s.payload.length > 0).map(s => 1 + Math.round((((s.seq - p.iss!) >>> 0) - 1) / MSS))

async function ackTo(p: PacketPeer, ack: number, sacks: [number, number][] = []): Promise<number[]> {
  const sackBlocks = sacks.map(([l, r]) => ({ left: (p.iss! + l) >>> 0, right: (p.iss! + r) >>> 0 }))
  await p.send('.', { seq: 1, ack, options: sackBlocks.length > 0 ? { sackBlocks } : undefined })
  return nums(p, p.takeAll())
}
const lost = (p: PacketPeer, tcb: Tcb, n: number) => isLost(tcb, (p.iss! + seg(n)) >>> 0)

describe('RACK: loss found by time (RFC 8985 6.2)', () => {
  it('a lost retransmission is found when a segment sent after it is delivered, with no RTO', async () => {
    const { p, tcb } = await established()
    p.takeAll()
    await p.run(10) // an RTT of 10 ms
    // 1 is lost; 2, 3, 4 arrive: DupThresh segments SACKed, so reo_wnd is 0 and 1 is lost (fast retransmit).
    let sent: number[] = []
    for (const n of [2, 3, 4]) sent.push(...await ackTo(p, 1, [[seg(2), seg(n + 1)]]))
    expect(sent).toContain(1)
    expect(tcb.lossState).toBe('recovery')
    // The rest of the window arrives; PRR sends new segments, after the retransmission.
    sent = []
    for (let n = 5; n <= 20; n++) sent.push(...await ackTo(p, 1, [[seg(2), seg(n + 1)]]))
    const after = sent.filter(n => n > 20)
    expect(after.length).toBeGreaterThan(0)
    expect(sent).not.toContain(1)
    // The retransmission of 1 is lost too. A round trip later the new segments arrive: 1 again.
    await p.run(10)
    const top = Math.max(...after)
    expect(await ackTo(p, 1, [[seg(2), seg(top + 1)]])).toContain(1)
    expect(p.stack.counters.retransmitTimeouts).toBe(0)
  })

  it('every hole below a delivered segment is lost, not only the first: both go without a partial ACK', async () => {
    const { p, tcb } = await established()
    p.takeAll()
    await p.run(10)
    // 1 and 4 are lost; the rest arrive.
    const sent = await ackTo(p, 1, [[seg(5), seg(21)], [seg(2), seg(4)]])
    expect(lost(p, tcb, 1) || sent.includes(1)).toBe(true)
    expect(sent).toEqual(expect.arrayContaining([1, 4]))
  })

  it('a loss RACK finds on an ACK that moves SND.UNA is resent at once, not at the next duplicate ACK', async () => {
    const { p, tcb } = await established(10, 10 * MSS)
    p.takeAll()
    await p.run(10)
    // 1 arrives, 2 is lost, 3-5 arrive: the ACK moves SND.UNA and shows 2 lost (three SACKed above it).
    expect(await ackTo(p, seg(2), [[seg(3), seg(6)]])).toContain(2)
    expect(tcb.lossState).toBe('recovery')
  })

  it('a loss in the window a tail loss probe already reduced for is repaired without a second reduction (RFC 6582 3.2)', async () => {
    const { p, socket, tcb } = await established(10, 10 * MSS, { probeInRecovery: false })
    p.takeAll()
    await ackTo(p, seg(9)) // 1..8 acknowledged; 9 arrived (its ACK is delayed), 10 is lost
    await p.run(10)
    expect(nums(p, p.takeAll())).toEqual([10]) // the probe: the last segment again
    socket.write(Buffer.alloc(8 * MSS, 7))
    await settle()
    expect(nums(p, p.takeAll())).toEqual([11, 12, 13, 14, 15, 16, 17, 18])
    await p.run(10)
    // The probe repaired 10 (the ACK goes beyond it, no D-SACK): one reduction, `recover` at 18.
    // 13 is lost and 14-16 arrived: RACK marks it lost on this same ACK.
    const out = await ackTo(p, seg(13), [[seg(14), seg(17)]])
    const ssthresh = tcb.cc.ssthresh
    expect(ssthresh).toBeLessThan(INITIAL_SSTHRESH)
    expect(out).toContain(13)
    expect(tcb.lossState).toBe('recovery')
    await ackTo(p, seg(19))
    expect(tcb.cc.ssthresh).toBe(ssthresh)
    expect(p.stack.counters.retransmitTimeouts).toBe(0)
  })

  it('once reordering is seen, a hole waits reo_wnd, and the reorder timer marks it lost, in recovery too (6.3)', async () => {
    const { p, tcb } = await established()
    p.takeAll()
    await p.run(8) // min_RTT 8 ms: reo_wnd = min_RTT / 4 = 2 ms
    // 3 arrives before 1 and 2; then 2, never resent: reordering seen (RACK.fack, step 3).
    await ackTo(p, 1, [[seg(3), seg(4)]])
    await ackTo(p, 1, [[seg(2), seg(4)]])
    expect(tcb.rack.reorderingSeen).toBe(true)
    expect(tcb.lossState).toBe('open')
    expect(lost(p, tcb, 1)).toBe(false)
    expect(tcb.rack.timeoutAt).not.toBeNull()
    // No more ACKs: the reorder timer fires after reo_wnd, 1 is lost, fast recovery resends it.
    await p.run(3)
    expect(nums(p, p.takeAll())).toContain(1)
    expect(tcb.lossState).toBe('recovery')
    // In recovery, 5 missing behind 6 waits reo_wnd too (not 0: reordering was seen), then is lost by the timer.
    await ackTo(p, 1, [[seg(6), seg(7)], [seg(2), seg(4)]])
    expect(lost(p, tcb, 5)).toBe(false)
    await p.run(3)
    expect(lost(p, tcb, 5) || tcb.sent.find((p.iss! + seg(5)) >>> 0)?.retransmitted === true).toBe(true)
    expect(p.stack.counters.retransmitTimeouts).toBe(0)
  })

  it('while a hole waits reo_wnd, each SACK lets a new segment go (cwnd - pipe, as Linux\'s tcp_packets_in_flight), not only the two of limited transmit', async () => {
    const { p, tcb } = await established()
    p.takeAll()
    await p.run(8) // min_RTT 8 ms: reo_wnd 2 ms
    // Reordering seen (3 before 2), so 1 waits reo_wnd rather than counting as lost at once.
    const sent = await ackTo(p, 1, [[seg(3), seg(4)]])
    sent.push(...await ackTo(p, 1, [[seg(2), seg(4)]]))
    expect(tcb.rack.reorderingSeen).toBe(true)
    // 4 to 11 arrive within the window: ten segments held by the peer in all, ten new ones out.
    for (let n = 4; n <= 11; n++) sent.push(...await ackTo(p, 1, [[seg(2), seg(n + 1)]]))
    expect(tcb.lossState).toBe('open')
    expect(sent).not.toContain(1)
    expect(sent.filter(n => n > 20)).toHaveLength(10) // one for each of 2..11 SACKed
    expect(pipe(tcb)).toBeLessThanOrEqual(tcb.cc.cwnd)
    // The window passes: 1 is lost and goes again, in a recovery whose flight was kept full.
    await p.run(3)
    expect(nums(p, p.takeAll())).toContain(1)
    expect(tcb.lossState).toBe('recovery')
  })

  it('a D-SACK widens reo_wnd by another min_RTT/4, for 16 recoveries (6.2 step 4, RFC 2883)', async () => {
    const { p, tcb } = await established()
    p.takeAll()
    await p.run(8)
    await ackTo(p, seg(3))
    expect(tcb.rack.reoWndMult).toBe(1)
    // The first block lies below the cumulative ACK: segment 1 arrived twice.
    await ackTo(p, seg(3), [[seg(1), seg(2)]])
    expect(tcb.dsacksReceived).toBe(1)
    expect(tcb.rack.reoWndMult).toBe(2)
    expect(tcb.rack.reoWndPersist).toBe(16)
    // A second D-SACK in the same round trip does not widen it again.
    await ackTo(p, seg(3), [[seg(2), seg(3)]])
    expect(tcb.rack.reoWndMult).toBe(2)
  })
})

describe('TLP (RFC 8985 7) and D-SACK', () => {
  it('a probe the D-SACK shows needless (the original arrived too) brings no congestion response (7.4)', async () => {
    const { p, socket } = await established(20, 0)
    socket.write(Buffer.alloc(10 * MSS, 7))
    await settle()
    expect(p.takeAll()).toHaveLength(10)
    await ackTo(p, seg(10)) // 1..9 acknowledged; the ACK of 10 is only late
    await p.run(250) // PTO: 2 SRTT, plus the worst delayed ACK with one segment out (7.2)
    expect(nums(p, p.takeAll())).toEqual([10]) // the probe: the last segment again
    await ackTo(p, seg(11)) // the original 10's ACK
    await ackTo(p, seg(11), [[seg(10), seg(11)]]) // the probe arrived twice: a D-SACK for it
    socket.write(Buffer.alloc(MSS, 7))
    await settle()
    p.takeAll()
    await ackTo(p, seg(12))
    expect(socket.congestion.ssthresh).toBe(INITIAL_SSTHRESH)
    expect(p.stack.counters.tailLossProbes).toBe(1)
  })

  it('a probe may go in fast recovery by default, only in the open state with the Linux profile, never after an RTO (7)', async () => {
    for (const [tcp, inRecovery] of [[{}, true], [LINUX_PROFILE, false]] as const) {
      const { tcb } = await established(20, 4 * 20 * MSS, { ...tcp, congestionControl: 'newreno' })
      expect(probeAllowed(tcb)).toBe(true)
      tcb.lossState = 'recovery'
      expect(probeAllowed(tcb)).toBe(inRecovery)
      tcb.lossState = 'loss'
      expect(probeAllowed(tcb)).toBe(false)
    }
  })

  it('sends a D-SACK for a duplicate segment: the first SACK block of its ACK (RFC 2883 4)', async () => {
    const { p } = await established(20, 0)
    await p.send('P.', { seq: 1, ack: 1, data: 'a'.repeat(100) })
    await p.run(300)
    p.takeAll()
    // The same segment again: the ACK reports it below the cumulative ACK.
    await p.send('P.', { seq: 1, ack: 1, data: 'a'.repeat(100) })
    const dup = p.takeAll().at(-1)!
    expect(dup.options.sackBlocks?.[0]).toEqual({ left: (PEER_ISN + 1) >>> 0, right: (PEER_ISN + 101) >>> 0 })
    // An out-of-order segment held already, again: D-SACK first, then the block that holds it.
    await p.send('P.', { seq: 301, ack: 1, data: 'b'.repeat(100) })
    p.takeAll()
    await p.send('P.', { seq: 301, ack: 1, data: 'b'.repeat(100) })
    const blocks = p.takeAll().at(-1)!.options.sackBlocks!
    expect(blocks[0]).toEqual({ left: (PEER_ISN + 301) >>> 0, right: (PEER_ISN + 401) >>> 0 })
    expect(blocks[1]).toEqual({ left: (PEER_ISN + 301) >>> 0, right: (PEER_ISN + 401) >>> 0 })
    // Reported once only.
    await p.send('.', { seq: 101, ack: 1 })
    await p.send('P.', { seq: 101, ack: 1, data: 'c'.repeat(10) })
    expect(p.takeAll().at(-1)!.options.sackBlocks?.[0]).toEqual({ left: (PEER_ISN + 301) >>> 0, right: (PEER_ISN + 401) >>> 0 })
  })
})

describe('D-SACK undo (RFC 3708; Linux tcp_try_undo_dsack)', () => {
  /** 1 only late: 2-4 SACKed start a recovery that resends 1; then the ACK of all ten. */
  async function needlessRecovery(tcb: Tcb, p: PacketPeer) {
    p.takeAll()
    await p.run(10)
    const before = { cwnd: tcb.cc.cwnd, ssthresh: tcb.cc.ssthresh }
    for (const n of [2, 3, 4]) await ackTo(p, 1, [[seg(2), seg(n + 1)]])
    expect(tcb.lossState).toBe('recovery')
    expect(tcb.cc.ssthresh).toBeLessThan(before.ssthresh)
    return before
  }

  it('the D-SACK of the only retransmission, after the full ACK, undoes the recovery: cwnd and ssthresh back', async () => {
    const { p, tcb } = await established(10, 10 * MSS)
    const before = await needlessRecovery(tcb, p)
    await ackTo(p, seg(11)) // the late original filled the hole: the full ACK
    expect(tcb.lossState).toBe('open')
    expect(tcb.cc.cwnd).toBeLessThan(before.cwnd)
    await ackTo(p, seg(11), [[seg(1), seg(2)]]) // then the retransmission arrives too: a D-SACK for it
    expect(p.stack.counters.spuriousRecoveries).toBe(1)
    expect(tcb.cc.ssthresh).toBe(before.ssthresh)
    expect(tcb.cc.cwnd).toBeGreaterThanOrEqual(Math.min(before.cwnd, 10 * MSS))
  })

  it('during the recovery too; but a D-SACK of a segment never resent (the path duplicated it) undoes nothing', async () => {
    const { p, tcb } = await established(10, 10 * MSS)
    const before = await needlessRecovery(tcb, p)
    await ackTo(p, 1, [[seg(5), seg(6)], [seg(2), seg(6)]]) // 5 twice: a D-SACK, not of a retransmission
    expect(p.stack.counters.spuriousRecoveries).toBe(0)
    await ackTo(p, seg(6), [[seg(1), seg(2)]]) // 1 arrives late, then its retransmission: D-SACKed
    expect(p.stack.counters.spuriousRecoveries).toBe(1)
    expect(tcb.lossState).toBe('open')
    expect(tcb.cc.ssthresh).toBe(before.ssthresh)
  })

  it('not after a reduction since: an RTO in between keeps its own response', async () => {
    const { p, tcb } = await established(10, 10 * MSS)
    await needlessRecovery(tcb, p)
    await ackTo(p, seg(10)) // all but 10, whose ACK never comes: the RTO
    await p.run(1_000)
    expect(p.stack.counters.retransmitTimeouts).toBeGreaterThan(0)
    const ssthresh = tcb.cc.ssthresh
    await ackTo(p, seg(11), [[seg(1), seg(2)]])
    expect(p.stack.counters.spuriousRecoveries).toBe(0)
    expect(tcb.cc.ssthresh).toBe(ssthresh)
  })
})

describe('RACK invariants (property)', () => {
  it('after every ACK: the record covers SND.UNA..SND.NXT in order, SACKed bytes lie inside SND.UNA..SND.NXT, 0 <= pipe <= FlightSize, cwnd >= 0, lost_out <= segments out, ssthresh >= 2 SMSS after a reduction, no segment deemed lost left unsent in the open state, and the count of those kept exact', async () => {
    const ackArb = fc.record({
      advance: fc.integer({ min: 0, max: 3 }),
      blocks: fc.array(fc.tuple(fc.integer({ min: 0, max: 24 }), fc.integer({ min: 1, max: 4 })), { maxLength: 3 }),
      wait: fc.oneof(fc.integer({ min: 0, max: 12 }), fc.constant(600)), // now and then past the RTO
    })
    await fc.assert(fc.asyncProperty(fc.array(ackArb, { minLength: 1, maxLength: 25 }), async acks => {
      const { p, tcb } = await established()
      p.takeAll()
      let una = 1
      for (const a of acks) {
        await p.run(a.wait)
        una = Math.min(una + a.advance * MSS, seqDiff(tcb.sndNxt, p.iss!))
        const top = seqDiff(tcb.sndNxt, p.iss!)
        const sacks = a.blocks
          .map(([at, len]): [number, number] => [una + at * MSS, Math.min(una + (at + len) * MSS, top)])
          .filter(([l, r]) => l < r)
        await ackTo(p, una, sacks)
        if (tcb.state !== 'ESTABLISHED') return
        const segments = tcb.sent.segments
        let at = tcb.sndUna
        for (const s of segments) {
          expect(s.start).toBe(at)
          expect(seqLt(s.start, s.end)).toBe(true)
          at = s.end
        }
        if (segments.length > 0) expect(at).toBe(tcb.sndNxt)
        for (const b of tcb.scoreboard.blocks) expect(seqLe(tcb.sndUna, b.left) && seqLe(b.right, tcb.sndNxt)).toBe(true)
        const inFlight = pipe(tcb)
        expect(inFlight).toBeGreaterThanOrEqual(0)
        expect(inFlight).toBeLessThanOrEqual(flightSize(tcb))
        expect(tcb.cc.cwnd).toBeGreaterThanOrEqual(0)
        const info = tcpInfo(tcb)
        expect(info.lost).toBeLessThanOrEqual(info.unacked)
        if (tcb.cc.ssthresh !== INITIAL_SSTHRESH) expect(tcb.cc.ssthresh).toBeGreaterThanOrEqual(2 * tcb.sndMss)
        // A segment deemed lost and not resent starts a recovery at once (RFC 8985 6.2), so in
        // the open state none remains: only the RTO's go-back-N leaves them to itself.
        if (tcb.lossState === 'open') expect(segments.some(s => s.lost && !s.delivered)).toBe(false)
        // The count kept of such segments is the count in the record.
        expect(tcb.sent.lostPending).toBe(segments.filter(s => s.lost && !s.delivered).length)
      }
    }), { numRuns: 40 })
  })
})
