// Loss recovery at its edges, in packets (src/stack/tcp/recovery/): our FIN
// under cwnd and retransmission, the Eifel undo (RFC 3522, RFC 4015) when the same
// window also has a real loss, `recover` after 2^31 bytes (RFC 6582), and the
// congestion response to a loss the tail loss probe repaired (RFC 8985 7.4). The test
// plays the receiver: window scale 7, so cwnd is the limit, never the peer's window.
import { describe, expect, it } from 'vitest'
import { PacketPeer, acceptedSender } from '../../../helpers/packet-peer'
import { settle } from '../../../helpers/virtual-time'
import { FIN, type TcpSegment } from '../../../../src/stack/wire/tcp'
import type { CongestionControlName } from '../../../../src/stack/tcp/congestion'
import { INITIAL_SSTHRESH } from '../../../../src/stack/tcp/congestion'
import { isLost } from '../../../../src/stack/tcp/recovery/detection'

const MSS = 1460
/** SND.MSS once timestamps are on: 12 option bytes fewer (RFC 7323). */
const TS_MSS = MSS - 12

interface Setup { cc?: CongestionControlName; sack?: boolean; timestamps?: boolean }

function established({ cc = 'newreno', sack = false, timestamps = false }: Setup = {}) {
  return acceptedSender({ tcp: { congestionControl: cc }, sack, timestamps })
}

const rel = (p: PacketPeer, seq: number) => (seq - p.iss!) >>> 0

/** The peer acknowledges `ack` (relative), with SACK blocks (relative [left, right)) and TSopt if given. */
async function ackTo(p: PacketPeer, ack: number, sacks: [number, number][] = [], ts?: { value: number; echo: number }) {
  const sackBlocks = sacks.map(([l, r]) => ({ left: (p.iss! + l) >>> 0, right: (p.iss! + r) >>> 0 }))
  const options = { ...(sackBlocks.length > 0 ? { sackBlocks } : {}), ...(ts ? { timestamp: ts } : {}) }
  await p.send('.', { seq: 1, ack, options: Object.keys(options).length > 0 ? options : undefined })
}

describe('our FIN under cwnd and retransmission (RFC 9293 3.10.4, RFC 5681 3.1)', () => {
  for (const sack of [true, false]) {
    it(`sack=${sack}: no retransmission carries a FIN that SND.NXT does not cover, and the ACK of all of it is taken`, async () => {
      const { p, socket, tcb } = await established({ sack })
      // The data fits the initial window; the FIN is queued behind it.
      socket.end(Buffer.alloc(10 * MSS, 7))
      await settle()
      const sent = p.takeAll()
      // Every segment reaches the peer, but all its ACKs are lost: a probe (SACK) or the RTO resends.
      await p.run(sack ? 10 : 200)
      const again = p.takeAll()
      expect(again.length).toBeGreaterThan(0)
      const finAt = (s: TcpSegment) => rel(p, s.seq) + s.payload.length
      for (const s of [...sent, ...again]) {
        // A FIN only where SND.NXT already counts it: at the end of the data (relative 1 + 10 MSS).
        if (s.flags & FIN) expect(finAt(s), 'FIN position').toBe(1 + 10 * MSS)
        if (s.flags & FIN) expect(rel(p, tcb.sndNxt)).toBe(1 + 10 * MSS + 1)
      }
      // The peer holds all of it, and acknowledges the FIN if it saw one.
      const sawFin = [...sent, ...again].some(s => s.flags & FIN)
      await ackTo(p, 1 + 10 * MSS + (sawFin ? 1 : 0))
      expect(p.stack.counters.drops['tcp-ack-unsent']).toBeUndefined()
      // Whatever is still unacknowledged (at most the FIN) is resent and acknowledged: SND.UNA reaches past the FIN.
      for (let i = 0; i < 5 && tcb.state === 'FIN-WAIT-1'; i++) {
        await p.run(1000)
        const out = p.takeAll()
        if (out.some(s => s.flags & FIN)) await ackTo(p, 1 + 10 * MSS + 1)
      }
      expect(p.stack.counters.drops['tcp-ack-unsent']).toBeUndefined()
      expect(tcb.state).toBe('FIN-WAIT-2')
      expect(rel(p, tcb.sndUna)).toBe(1 + 10 * MSS + 1)
    })
  }
})

/**
 * 20 segments out with timestamps and SACK. `ack` sends the peer's ACK with SACK blocks,
 * a growing TSval, and an echo of the TSval the originals carried.
 */
async function twentyOut(cc: CongestionControlName) {
  const r = await established({ cc, sack: true, timestamps: true })
  r.socket.write(Buffer.alloc(20 * TS_MSS, 7))
  await settle()
  const first = r.p.takeAll()
  expect(first).toHaveLength(10)
  await r.p.run(5)
  const tOrig = first[0]!.options.timestamp!.value
  let tsv = 3
  const ack = (a: number, sacks: [number, number][]) => ackTo(r.p, a, sacks, { value: tsv++, echo: tOrig })
  return { ...r, ack }
}
const seg = (n: number) => 1 + (n - 1) * TS_MSS
/** Segment numbers of what the stack sent. */
const segs = (p: PacketPeer) => p.takeAll().map(s => 1 + Math.round((rel(p, s.seq) - 1) / TS_MSS))

describe('Eifel undo (RFC 3522, RFC 4015) and a real loss in the same window', () => {
  it('RACK in recovery: a hole below a SACKed segment is lost at once (reo_wnd 0, RFC 8985 6.2), so no undo and no RTO', async () => {
    const { p, tcb, ack } = await twentyOut('cubic')
    // Segment 1 is only late; 2, 3, 4 arrive: fast retransmit of 1.
    for (const n of [3, 4, 5]) await ack(1, [[seg(2), seg(n)]])
    expect(tcb.lossState).toBe('recovery')
    p.takeAll()
    // Segment 5 is lost; 6 arrives: sent after 5 and delivered, so 5 is lost by time (it goes as PRR allows).
    await ack(1, [[seg(6), seg(7)], [seg(2), seg(5)]])
    expect(isLost(tcb, (p.iss! + seg(5)) >>> 0)).toBe(true)
    // The original 1 arrives (its TSval echoed): the first retransmission was needless, 5's was not: no undo.
    await ack(seg(5), [[seg(6), seg(7)]])
    expect(p.stack.counters.spuriousRecoveries).toBe(0)
    expect(p.stack.counters.retransmitTimeouts).toBe(0)
  })

  it('does not undo while the scoreboard still shows a lost hole: the recovery goes on', async () => {
    const { p, tcb, ack } = await twentyOut('cubic')
    for (const n of [3, 4, 5]) await ack(1, [[seg(2), seg(n)]])
    expect(tcb.lossState).toBe('recovery')
    // 5 is lost, 6, 7, 8 arrive: the scoreboard deems 5 lost before the late original of 1 comes.
    for (const n of [7, 8, 9]) await ack(1, [[seg(6), seg(n)], [seg(2), seg(5)]])
    await ack(seg(5), [[seg(6), seg(9)]]) // the original 1 arrived: its TSval echoed
    expect(p.stack.counters.spuriousRecoveries).toBe(0)
    expect(tcb.lossState).toBe('recovery')
  })

  for (const cc of ['newreno', 'cubic'] as const) {
    it(`${cc}: the undo restores at most the cwnd before the loss, never NewReno's inflated one (RFC 4015 3.2)`, async () => {
      const { p, socket, tcb } = await established({ cc, timestamps: true })
      socket.write(Buffer.alloc(1 << 20, 7))
      await settle()
      const first = p.takeAll()
      expect(first).toHaveLength(10)
      const before = { cwnd: socket.congestion.cwnd, ssthresh: socket.congestion.ssthresh }
      const tOrig = first[0]!.options.timestamp!.value
      await p.run(5)
      // Nine duplicate ACKs: 2..10 arrived, 1 is only late. Without SACK each inflates cwnd by one SMSS.
      let tsv = 3
      for (let i = 0; i < 9; i++) await ackTo(p, 1, [], { value: tsv++, echo: tOrig })
      expect(tcb.lossState).toBe('recovery')
      p.takeAll()
      // The original 1 arrives: everything up to 10 acknowledged, echoing the original's TSval.
      await ackTo(p, 1 + 10 * TS_MSS, [], { value: tsv++, echo: tOrig })
      expect(p.stack.counters.spuriousRecoveries).toBe(1)
      expect(tcb.lossState).toBe('open')
      expect(socket.congestion.cwnd).toBeLessThanOrEqual(before.cwnd)
      expect(socket.congestion.ssthresh).toBe(Math.max(before.ssthresh, before.cwnd))
      // No burst: what goes now keeps the flight within the restored cwnd.
      p.takeAll()
      expect(tcb.sndNxt - tcb.sndUna >>> 0).toBeLessThanOrEqual(socket.congestion.cwnd)
    })
  }
})

describe('`recover` and sequence wrap-around (RFC 6582 3.2 step 1)', () => {
  for (const sack of [false, true]) {
    it(`sack=${sack}: three duplicate ACKs still start fast retransmit after more than 2^31 bytes without a loss`, async () => {
      const { p, socket, tcb } = await established({ sack })
      socket.write(Buffer.alloc(1 << 20, 7))
      await settle()
      expect(p.takeAll()).toHaveLength(10)
      // Stand-in for 2 GiB sent without a loss: a `recover` left where it was set is
      // now more than 2^31 behind SND.UNA, so modulo 2^32 it seems ahead of it.
      tcb.recover = (tcb.sndUna - 2 ** 31 - 1000) >>> 0
      const seg = (n: number) => 1 + (n - 1) * MSS
      await ackTo(p, seg(2)) // segment 1 acknowledged: the connection goes on
      p.takeAll()
      // Segment 2 is lost; 3, 4, 5 arrive.
      for (let n = 4; n <= 6; n++) await ackTo(p, seg(2), sack ? [[seg(3), seg(n)]] : [])
      expect(tcb.lossState).toBe('recovery')
      expect(p.stack.counters.fastRetransmits).toBe(1)
    })
  }
})

describe('a loss repaired by the tail loss probe (RFC 8985 7.4)', () => {
  const seg = (n: number) => 1 + (n - 1) * MSS

  it('gets one congestion response when the probe resent the last segment and its ACK covers it', async () => {
    const { p, socket } = await established({ sack: true })
    socket.write(Buffer.alloc(10 * MSS, 7))
    await settle()
    expect(p.takeAll()).toHaveLength(10)
    await ackTo(p, seg(9)) // 1..8 acknowledged; 9 arrived (its ACK is delayed), 10 is lost
    const cwnd = socket.congestion.cwnd
    await p.run(10)
    expect(p.takeAll().map(s => rel(p, s.seq))).toEqual([seg(10)]) // the probe: the last segment again
    expect(p.stack.counters.tailLossProbes).toBe(1)
    await ackTo(p, seg(11)) // the probe's ACK: it repaired a loss, or the original made it and a D-SACK follows
    expect(socket.congestion.ssthresh).toBe(INITIAL_SSTHRESH) // not yet known (RFC 8985 7.4, Linux's tcp_process_tlp_ack)
    socket.write(Buffer.alloc(MSS, 7))
    await settle()
    p.takeAll()
    await ackTo(p, seg(12)) // beyond the probe, no D-SACK for it: the probe repaired a loss
    expect(p.stack.counters.retransmitTimeouts).toBe(0)
    expect(socket.congestion.ssthresh).toBeLessThan(INITIAL_SSTHRESH)
    expect(socket.congestion.cwnd).toBeLessThan(cwnd)
    // Once: later ACKs grow cwnd again from there, with no second reduction.
    const ssthresh = socket.congestion.ssthresh
    socket.write(Buffer.alloc(4 * MSS, 7))
    await settle()
    for (const s of p.takeAll()) await ackTo(p, rel(p, s.seq) + s.payload.length)
    expect(socket.congestion.ssthresh).toBe(ssthresh)
  })
})

describe('a needless retransmission timeout is undone (RFC 3522, RFC 3708; Linux\'s tcp_try_undo_loss)', () => {
  /** Ten segments out and 1..4 acknowledged; then 5..10 arrive but every ACK for them is lost, until the RTO resends 5. */
  async function timedOut(setup: Setup) {
    const mss = setup.timestamps ? TS_MSS : MSS
    const seg = (n: number) => 1 + (n - 1) * mss
    const r = await established(setup)
    r.socket.write(Buffer.alloc(10 * mss, 7))
    await settle()
    const first = r.p.takeAll()
    expect(first).toHaveLength(10)
    const tOrig = first[0]!.options.timestamp?.value ?? 0
    await r.p.run(5)
    await ackTo(r.p, seg(5), [], setup.timestamps ? { value: 2, echo: tOrig } : undefined)
    const before = { cwnd: r.socket.congestion.cwnd, ssthresh: r.socket.congestion.ssthresh }
    for (let i = 0; i < 20 && r.p.stack.counters.retransmitTimeouts === 0; i++) await r.p.run(100)
    expect(r.p.stack.counters.retransmitTimeouts).toBe(1)
    expect(r.tcb.lossState).toBe('loss')
    const resent = r.p.takeAll().filter(s => rel(r.p, s.seq) === seg(5))
    expect(resent.length).toBeGreaterThan(0)
    expect(r.socket.congestion.cwnd).toBeLessThan(before.cwnd)
    return { ...r, seg, before, tOrig, rtxTs: resent.at(-1)!.options.timestamp?.value ?? 0 }
  }

  it('by D-SACK: the peer reports the retransmission of 5 a duplicate, so cwnd and ssthresh come back', async () => {
    const { p, tcb, socket, seg, before } = await timedOut({ sack: true })
    // The ACK of everything, with a D-SACK for the copy of 5 (RFC 2883 4: a block below the ACK).
    await ackTo(p, seg(11), [[seg(5), seg(6)]])
    expect(p.stack.counters.spuriousRecoveries).toBe(1)
    expect(tcb.lossState).toBe('open')
    expect(socket.congestion.ssthresh).toBe(Math.max(before.ssthresh, before.cwnd))
    expect(socket.congestion.cwnd).toBeGreaterThan(2 * MSS) // not the slow start from one segment
    expect(tcb.sent.segments.some(s => s.lost)).toBe(false)
  })

  it('by Eifel: the ACK that covers 5 echoes the TSval of the original, sent before the timeout', async () => {
    const { p, tcb, socket, seg, before, tOrig } = await timedOut({ timestamps: true })
    await ackTo(p, seg(11), [], { value: 9, echo: tOrig })
    expect(p.stack.counters.spuriousRecoveries).toBe(1)
    expect(tcb.lossState).toBe('open')
    expect(socket.congestion.ssthresh).toBe(Math.max(before.ssthresh, before.cwnd))
  })

  it('not when the timeout was real: the ACK echoes the retransmission and no D-SACK comes', async () => {
    const { p, tcb, socket, seg, rtxTs } = await timedOut({ sack: true, timestamps: true })
    await ackTo(p, seg(6), [], { value: 9, echo: rtxTs })
    expect(p.stack.counters.spuriousRecoveries).toBe(0)
    expect(tcb.lossState).toBe('loss')
    expect(socket.congestion.cwnd).toBeLessThanOrEqual(2 * TS_MSS) // slow start again from one segment
  })
})
