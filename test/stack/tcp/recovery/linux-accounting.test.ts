// Loss recovery's bookkeeping as Linux keeps it, in packets: what TCP_INFO's tcpi_lost and
// tcpi_reordering count (lost_out, tp->reordering), an old ACK's SACK blocks, cwnd growth by
// data delivered (growOnDelivered), PRR's safe-ACK rule (prrSafeAck) and a retransmission
// that sends a partly SACKed segment whole. The test plays the receiver; segments are 1460 bytes.
import { describe, expect, it } from 'vitest'
import { PacketPeer, acceptedSender } from '../../../helpers/packet-peer'
import { settle } from '../../../helpers/virtual-time'
import type { TcpSegment } from '../../../../src/stack/wire/tcp'
import { tcpInfo } from '../../../../src/stack/tcp-info'
import { LINUX_PROFILE, type TcpConfig } from '../../../../src/stack/tcp/config'

const MSS = 1460

async function established(window: number, bytes: number, tcp: Partial<TcpConfig> = {}, sack = true) {
  const { p, socket, tcb } = await acceptedSender({ tcp: { congestionControl: 'newreno', ...tcp }, sack })
  tcb.cc.cwnd = window * MSS
  socket.write(Buffer.alloc(bytes, 7))
  await settle()
  return { p, socket, tcb }
}

const seg = (n: number) => 1 + (n - 1) * MSS
const nums = (p: PacketPeer, out: TcpSegment[]) => out.filter(s => s.payload.length > 0).map(s => 1 + Math.round((((s.seq - p.iss!) >>> 0) - 1) / MSS))

async function ackTo(p: PacketPeer, ack: number, sacks: [number, number][] = []): Promise<TcpSegment[]> {
  const sackBlocks = sacks.map(([l, r]) => ({ left: (p.iss! + l) >>> 0, right: (p.iss! + r) >>> 0 }))
  await p.send('.', { seq: 1, ack, options: sackBlocks.length > 0 ? { sackBlocks } : undefined })
  return p.takeAll()
}

describe('tcpi_lost and tcpi_reordering as Linux counts them', () => {
  it('a segment RACK marked lost stays in lost_out once resent, until the peer has it (TCPCB_LOST)', async () => {
    const { p, tcb } = await established(10, 10 * MSS)
    p.takeAll()
    await p.run(10)
    // 3, 7 and 9 arrive: three SACKed above 1, so 1, 2, 4, 5, 6 and 8 are lost (reo_wnd 0).
    await ackTo(p, 1, [[seg(3), seg(4)]])
    await ackTo(p, 1, [[seg(3), seg(4)], [seg(7), seg(8)]])
    const out = nums(p, await ackTo(p, 1, [[seg(3), seg(4)], [seg(7), seg(8)], [seg(9), seg(10)]]))
    expect(out[0]).toBe(1)
    expect(tcb.lossState).toBe('recovery')
    expect(tcpInfo(tcb).lost).toBe(6) // the resent 1 counted still
    // 4 arrives (late, never resent): lost_out falls by one; the distance from 9 down to 4 is the reordering.
    await ackTo(p, 1, [[seg(3), seg(5)], [seg(7), seg(8)], [seg(9), seg(10)]])
    expect(tcpInfo(tcb).lost).toBe(5)
    expect(tcpInfo(tcb).reordering).toBe(6) // (end of 9 - start of 4) / MSS
    // The cumulative ACK reaches 5: 1 and 2 leave lost_out.
    await ackTo(p, seg(5), [[seg(7), seg(8)], [seg(9), seg(10)]])
    expect(tcpInfo(tcb).lost).toBe(3)
  })
})

describe("an old ACK's SACK blocks (as Linux's tcp_ack)", () => {
  it('an ACK below SND.UNA, reordered behind a later one, still SACKs, and PRR sends for it', async () => {
    const { p, tcb } = await established(10, 20 * MSS, { ...LINUX_PROFILE, congestionControl: 'newreno' })
    p.takeAll()
    await p.run(10)
    // 1, 5 and 8 lost: 2, 3, then 9 arrive; RACK marks 1 lost (three SACKed above it).
    await ackTo(p, 1, [[seg(2), seg(3)]])
    await ackTo(p, 1, [[seg(2), seg(4)]])
    expect(nums(p, await ackTo(p, 1, [[seg(2), seg(4)], [seg(9), seg(10)]]))).toEqual([1])
    await p.run(10)
    await ackTo(p, seg(5), [[seg(9), seg(10)]])
    const sackedBefore = tcb.scoreboard.sackedBytes
    // An ACK of 3 (older than SND.UNA at 5) arrives late with 6 and 7 SACKed.
    const out = await ackTo(p, seg(3), [[seg(6), seg(8)]])
    expect(tcb.scoreboard.sackedBytes).toBe(sackedBefore + 2 * MSS)
    expect(out.length).toBeGreaterThan(0) // two delivered: PRR lets something go
    expect(tcb.lossState).toBe('recovery')
  })
})

describe('cwnd growth by data delivered (growOnDelivered, Linux tcp_may_raise_cwnd)', () => {
  for (const sack of [true, false]) {
    it(`sack=${sack}: after limited transmit, an ACK covering bytes SACKed (or dup-ACKed) before grows cwnd by one segment, not three`, async () => {
      const run = async (growOnDelivered: boolean) => {
        const { p, tcb } = await established(10, 15 * MSS, { growOnDelivered }, sack)
        p.takeAll()
        await p.run(10)
        await ackTo(p, 1, sack ? [[seg(2), seg(3)]] : [])
        await ackTo(p, 1, sack ? [[seg(2), seg(4)]] : [])
        const before = tcb.cc.cwnd
        await ackTo(p, seg(4)) // reordering, not loss: 1 arrives
        return tcb.cc.cwnd - before
      }
      expect(await run(true)).toBe(MSS)
      expect(await run(false)).toBe(3 * MSS) // RFC 5681 3.1 with byte counting: the bytes acknowledged
    })
  }
})

describe("PRR's safe-ACK rule (prrSafeAck, RFC 9937, Linux tcp_cwnd_reduction)", () => {
  it('with pipe under ssthresh, a duplicate ACK sends only what it delivered; RFC 6937 adds a segment', async () => {
    const run = async (prrSafeAck: boolean) => {
      const { p } = await established(10, 10 * MSS, { prrSafeAck })
      p.takeAll()
      await p.run(10)
      await ackTo(p, 1, [[seg(3), seg(4)]])
      await ackTo(p, 1, [[seg(3), seg(4)], [seg(7), seg(8)]])
      // Six lost of ten: pipe 1 segment, far under ssthresh (5): the slow-start reduction bound.
      return nums(p, await ackTo(p, 1, [[seg(3), seg(4)], [seg(7), seg(8)], [seg(9), seg(10)]]))
    }
    expect(await run(true)).toEqual([1])
    expect(await run(false)).toEqual([1, 2])
  })
})

describe('a partly SACKed segment is resent whole (SACK per segment, as Linux)', () => {
  it('a block covering the last byte of the last segment does not cut its retransmission', async () => {
    const { p } = await established(10, 4 * MSS)
    p.takeAll()
    const last = seg(5) - 1
    await ackTo(p, 1, [[last, seg(5)]]) // only the last byte of 4 SACKed
    // Nothing more comes: the probe resends 4, then the RTO resends 1.
    await p.run(1_000)
    p.takeAll()
    // The go-back-N as ACKs return: 2 and 3, then 4, whole, although its last byte is SACKed.
    const sent = (out: TcpSegment[]) => out.map(s => [((s.seq - p.iss!) >>> 0), s.payload.length])
    expect(sent(await ackTo(p, seg(2), [[last, seg(5)]]))).toEqual([[seg(2), MSS], [seg(3), MSS]])
    expect(sent(await ackTo(p, seg(4), [[last, seg(5)]]))).toEqual([[seg(4), MSS]])
  })
})
