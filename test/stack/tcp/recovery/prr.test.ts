// Proportional Rate Reduction (RFC 6937 3, RFC 9937; src/stack/tcp/recovery/prr.ts), in
// packets. The test plays the receiver (window scale 7, so cwnd is the limit) with a window
// of 20 segments in flight, as RFC 6937's examples: what each ACK of the recovery lets go,
// and cwnd = ssthresh at its end. Then a property: whatever is lost, no ACK sends more than
// PRR allows, and prr_out counts every byte sent in recovery.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { PacketPeer, acceptedSender } from '../../../helpers/packet-peer'
import { settle } from '../../../helpers/virtual-time'
import type { TcpSegment } from '../../../../src/stack/wire/tcp'
import type { CongestionControlName } from '../../../../src/stack/tcp/congestion'
import { pipe } from '../../../../src/stack/tcp/recovery/detection'

const MSS = 1460

/** Established, with `window` segments of cwnd and data for several windows queued, none sent yet. */
async function established(cc: CongestionControlName, sack: boolean, window = 20) {
  const { p, socket, tcb } = await acceptedSender({ tcp: { congestionControl: cc }, sack })
  tcb.cc.cwnd = window * MSS // as if slow start had grown it this far
  socket.write(Buffer.alloc(4 * window * MSS, 7))
  await settle()
  return { p, socket, tcb }
}

/** Relative sequence number of segment n (1-based) of the first window. */
const seg = (n: number) => 1 + (n - 1) * MSS
const rel = (p: PacketPeer, seq: number) => (seq - p.iss!) >>> 0

/** The peer acknowledges `ack` (relative) with SACK blocks (relative [left, right)), and the segments that ACK let go. */
async function ackTo(p: PacketPeer, ack: number, sacks: [number, number][] = []): Promise<TcpSegment[]> {
  const sackBlocks = sacks.map(([l, r]) => ({ left: (p.iss! + l) >>> 0, right: (p.iss! + r) >>> 0 }))
  await p.send('.', { seq: 1, ack, options: sackBlocks.length > 0 ? { sackBlocks } : undefined })
  return p.takeAll()
}

describe('RFC 6937 appendix: one loss in a window of 20 segments', () => {
  // Segment 1 is lost; 2..20 arrive, each SACKed (or, without SACK, a duplicate ACK). The first
  // two duplicates send a new segment each (limited transmit, RFC 3042), the third the fast
  // retransmit; RecoverFS = 20 (the 22 in flight less the 2 SACKed before).
  // While pipe > ssthresh the proportional part: NewReno's ssthresh = 10, one segment per two
  // delivered; CUBIC's 14 (beta 0.7), seven per ten. The last ACKs find pipe at ssthresh: the
  // reduction bound holds it there, one segment out per one delivered.
  const cases = [
    { cc: 'newreno', sack: true, ssthresh: 10, perAck: [0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1] },
    { cc: 'newreno', sack: false, ssthresh: 10, perAck: [0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1] },
    { cc: 'cubic', sack: true, ssthresh: 14, perAck: [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1] },
  ] as const
  for (const { cc, sack, ssthresh, perAck } of cases) {
    it(`${cc}, sack=${sack}: sends ssthresh/RecoverFS of what is delivered, and cwnd = ssthresh at the end`, async () => {
      const { p, socket, tcb } = await established(cc, sack)
      expect(p.takeAll()).toHaveLength(20)
      const sacks = (n: number): [number, number][] => (sack ? [[seg(2), seg(n + 1)]] : [])
      expect((await ackTo(p, 1, sacks(2))).map(s => rel(p, s.seq))).toEqual([seg(21)])
      expect((await ackTo(p, 1, sacks(3))).map(s => rel(p, s.seq))).toEqual([seg(22)])
      expect((await ackTo(p, 1, sacks(4))).map(s => rel(p, s.seq))).toEqual([seg(1)]) // fast retransmit
      expect(socket.congestion.ssthresh).toBe(ssthresh * MSS)
      expect(tcb.prr.recoverFs).toBe(20 * MSS)
      // Segments 5..22 arrive (the two sent by limited transmit too): 18 more ACKs, then the
      // retransmission's ACK ends the recovery.
      const sent: number[] = []
      for (let n = 5; n <= 22; n++) sent.push((await ackTo(p, 1, sacks(n))).length)
      expect(sent).toEqual(perAck)
      expect(tcb.prr.out).toBe((1 + sent.reduce((a, b) => a + b, 0)) * MSS)
      // In all, about ssthresh segments went for the 20 of RecoverFS: pipe is at ssthresh.
      expect(Math.abs(pipe(tcb) - ssthresh * MSS)).toBeLessThanOrEqual(MSS)
      await ackTo(p, seg(23)) // a full ACK
      expect(tcb.lossState).toBe('open')
      expect(socket.congestion.cwnd).toBe(ssthresh * MSS)
    })
  }
})

describe('RFC 6937 appendix: several losses in a window of 20 segments', () => {
  // Segments 1..12 are lost, 13..20 arrive: at the fast retransmit pipe is 7 segments, below
  // ssthresh, more than the reduction asked for. The slow-start reduction bound (PRR-SSRB)
  // lets each ACK send what it delivered plus one segment, slow start's pace, until pipe
  // reaches ssthresh; from there one segment per segment delivered, which the ACKs of the
  // retransmissions keep up. The first two partial ACKs send two: the ACK of 1's retransmission
  // shows 21 and 22, sent before it and never SACKed by this peer, lost too (RACK, RFC 8985 6.2),
  // so pipe falls by two segments and the bound replaces them.
  const cases = [
    { cc: 'newreno', ssthresh: 10, dupAcks: [1, 1, 2, 2, 1, 1, 1, 1], partialAcks: [2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1] },
    { cc: 'cubic', ssthresh: 14, dupAcks: [1, 1, 2, 2, 2, 2, 2, 2], partialAcks: [2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1] },
  ] as const
  for (const { cc, ssthresh, dupAcks, partialAcks } of cases) {
    it(`${cc}: back to ssthresh at slow start's pace, then one for one (PRR-SSRB)`, async () => {
      const { p, socket, tcb } = await established(cc, true)
      p.takeAll()
      const sent: number[] = []
      for (let n = 13; n <= 20; n++) sent.push((await ackTo(p, 1, [[seg(13), seg(n + 1)]])).length)
      expect(tcb.lossState).toBe('recovery')
      expect(socket.congestion.ssthresh).toBe(ssthresh * MSS)
      const bursts: number[] = []
      for (let n = 2; n <= 12; n++) {
        bursts.push((await ackTo(p, seg(n), [[seg(13), seg(21)]])).length)
        expect(pipe(tcb)).toBeLessThanOrEqual(ssthresh * MSS)
      }
      expect(sent).toEqual(dupAcks)
      expect(bursts).toEqual(partialAcks)
      expect(pipe(tcb)).toBe(ssthresh * MSS)
      expect(p.stack.counters.retransmitTimeouts).toBe(0)
      await ackTo(p, rel(p, tcb.sndNxt)) // everything acknowledged: the recovery ends
      expect(tcb.lossState).toBe('open')
      expect(socket.congestion.cwnd).toBe(ssthresh * MSS)
    })
  }
})

describe("PRR in the 'sender' event", () => {
  it('carries prr_delivered, prr_out, RecoverFS and sndcnt during a recovery, and nothing outside one', async () => {
    const { p, tcb } = await established('newreno', true)
    p.takeAll()
    const seen: unknown[] = []
    p.stack.on('sender', info => seen.push(info.prr))
    await ackTo(p, 1, [[seg(2), seg(3)]])
    for (let n = 4; n <= 5; n++) await ackTo(p, 1, [[seg(2), seg(n)]])
    expect(tcb.lossState).toBe('recovery')
    expect(seen[0]).toBeUndefined()
    expect(seen.at(-1)).toEqual({ delivered: MSS, out: MSS, recoverFs: 20 * MSS, sndcnt: MSS })
  })
})

describe('PRR bounds every ACK of a recovery (property)', () => {
  it('never sends more than PRR allows, counts every byte sent in prr_out, and ends with cwnd = ssthresh', async () => {
    const scenario = fc.record({
      cc: fc.constantFrom<CongestionControlName>('newreno', 'cubic'),
      sack: fc.boolean(),
      window: fc.integer({ min: 8, max: 40 }),
      lossSeed: fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
      lossRate: fc.integer({ min: 1, max: 4 }),
    })
    await fc.assert(fc.asyncProperty(scenario, async ({ cc, sack, window, lossSeed, lossRate }) => {
      const { p, tcb } = await established(cc, sack, window)
      // Which of the first window's original segments are lost: about one in 1 + 4/lossRate, never the last.
      const lost = new Set<number>()
      for (let n = 1; n < window; n++) if (lossSeed[n]! && (n % (5 - lossRate)) === 0) lost.add(seg(n))
      if (lost.size === 0) lost.add(seg(1))
      // The receiver: what it holds, as [left, right) ranges; an ACK per segment that arrives.
      const held: [number, number][] = []
      let rcvNxt = 1
      const queue = p.takeAll()
      const seen = new Set<number>()
      let recovering = false
      let endedWith: { cwnd: number; ssthresh: number } | null = null
      for (let steps = 0; queue.length > 0 && steps < 400; steps++) {
        const s = queue.shift()!
        const at = rel(p, s.seq)
        const first = !seen.has(at)
        seen.add(at)
        if (first && lost.has(at)) continue // dropped
        const end = at + s.payload.length
        held.push([at, end])
        held.sort((a, b) => a[0] - b[0])
        while (held.length > 0 && held[0]![0] <= rcvNxt) rcvNxt = Math.max(rcvNxt, held.shift()![1])
        // SACK blocks: the one holding this segment first (RFC 2018 4), then the others, at most 3.
        const blocks = merge(held)
        blocks.sort((a, b) => Number(b[0] <= at && at < b[1]) - Number(a[0] <= at && at < a[1]))
        const { delivered: d0, out: o0 } = tcb.prr
        const wasRecovering = tcb.lossState === 'recovery'
        const out = await ackTo(p, rcvNxt, sack ? blocks.slice(0, 3) : [])
        queue.push(...out)
        const bytes = out.reduce((a, x) => a + x.payload.length, 0)
        if (tcb.lossState === 'recovery') {
          const entered = !wasRecovering
          if (entered) recovering = true
          const delivered = entered ? tcb.prr.delivered : tcb.prr.delivered - d0
          const outBefore = entered ? 0 : o0
          // RFC 6937 3: no ACK sends more than max(prr_delivered - prr_out, DeliveredData) + SMSS.
          expect(bytes).toBeLessThanOrEqual(Math.max(tcb.prr.delivered - outBefore, delivered) + MSS)
          // prr_out is what went on the wire since the recovery began.
          expect(tcb.prr.out - outBefore).toBe(bytes)
          // Proportional part, or the reduction bound: prr_out stays within ssthresh/RecoverFS of
          // what was delivered (plus the forced fast retransmit), unless pipe is at or below ssthresh.
          const share = Math.ceil((tcb.prr.delivered * tcb.cc.ssthresh) / tcb.prr.recoverFs / MSS) * MSS
          expect(tcb.prr.out <= share + MSS || pipe(tcb) <= tcb.cc.ssthresh).toBe(true)
        } else if (wasRecovering && tcb.lossState === 'open') {
          endedWith = { cwnd: tcb.cc.cwnd, ssthresh: tcb.cc.ssthresh }
          break
        }
      }
      expect(recovering).toBe(true)
      // RFC 6937 3: at the end of recovery cwnd = ssthresh.
      if (endedWith !== null) expect(endedWith.cwnd).toBe(endedWith.ssthresh)
    }), { numRuns: 60 })
  }, 60_000)
})

/** Ranges sorted and merged where they touch. */
function merge(ranges: [number, number][]): [number, number][] {
  const out: [number, number][] = []
  for (const [l, r] of [...ranges].sort((a, b) => a[0] - b[0])) {
    const last = out[out.length - 1]
    if (last !== undefined && l <= last[1]) last[1] = Math.max(last[1], r)
    else out.push([l, r])
  }
  return out
}
