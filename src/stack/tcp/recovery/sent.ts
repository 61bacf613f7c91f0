// The sender's record of every segment in flight, with the time it was last sent: what
// RACK (RFC 8985 6.1) keeps per segment. One entry per send, as Linux keeps one skb per TSO
// packet: a segment of at most SMSS, or with segmentation offload a packet of up to 64 KB
// the device cuts into SMSS segments. Sorted by sequence number, from SND.UNA to SND.NXT; a
// retransmission updates the entries it covers (cutting them where it starts or ends)
// rather than adding one, and SACK blocks cut them at their edges (cutAtBlocks), so an entry
// is wholly SACKed or not at all. Cumulatively acknowledged entries are dropped; the SACK
// scoreboard (sack.ts) says which of the rest the peer holds.
//
// API (kept on the TCB as `tcb.sent`; emit.ts records every send, rack.ts reads and marks):
//   onSend(seq, len, now, sndNxt)       a segment or packet went: new (at SND.NXT) or again
//   cutAtBlocks(blocks, mss)            cut entries where a SACK block starts or ends inside one
//   trim(sndUna)                        forget what the cumulative ACK covers
//   cutAt(seq)                          split the entry holding `seq` (an ACK ending inside a packet)
//   segments                            the entries, in sequence order (read only)
//   find(seq)                           the entry holding the byte at `seq`, or undefined
//   deliver(s)                          `s` is cumulatively ACKed or SACKed (rack.ts, trim)
//   lostPending                         how many are deemed lost, neither resent since nor delivered
//   rate                                the delivery rate estimator the sends stamp (congestion/rate.ts)
//
// RACK's per-connection state (the Rack record) is defined here too, so tcb.ts needs only
// this file; rack.ts runs the algorithm on both.

import { seqAdd, seqDiff, seqGe, seqLe, seqLt } from '../seq.js'
import { DeliveryRate, type RateStamp } from '../congestion/rate.js'
import type { SackBlock } from '../sack.js'

/** One segment in flight: RFC 8985 6.1's Segment.xmit_ts, .end_seq, .retransmitted and .lost. */
export interface SentSegment {
  /** First sequence number, and one past the last (end_seq). */
  start: number
  end: number
  /** When it was last sent (ms): xmit_ts. */
  xmitTs: number
  /** The order of that send among all of the connection's: a tie-break finer than the clock's 1 ms. */
  order: number
  /** Sent more than once. */
  retransmitted: boolean
  /** Deemed lost (by RACK, or by an RTO) and not sent again since. */
  lost: boolean
  /**
   * Deemed lost in this episode, resent since or not: Linux's TCPCB_LOST, which lost_out
   * (TCP_INFO's tcpi_lost) counts; cleared only by delivery or an undo.
   */
  markedLost: boolean
  /** Delivered: cumulatively ACKed or wholly SACKed, already taken by RACK's update (6.2 step 2). */
  delivered: boolean
  /** The delivery counters when it was last sent (congestion/rate.ts). */
  rate: RateStamp
}

/** Most entries kept; beyond that new sends are not recorded (the send buffer bounds it well before). */
const MAX_SEGMENTS = 65_536

export class SentSegments {
  private list: SentSegment[] = []
  /** Sends so far, for SentSegment.order. */
  private sends = 0
  /** Delivery rate estimation over these segments (draft-cheng-iccrg-delivery-rate-estimation). */
  readonly rate = new DeliveryRate()

  get segments(): readonly SentSegment[] {
    return this.list
  }

  /** `len` bytes (SYN or FIN included) sent at `seq` in one segment or offloaded packet; a new send when `seq` is SND.NXT. */
  onSend(seq: number, len: number, now: number, sndNxt: number): void {
    if (len <= 0) return
    const end = seqAdd(seq, len)
    const order = ++this.sends
    const rate = this.rate.stamp(now, this.list.length === 0)
    if (seqGe(seq, sndNxt)) {
      if (this.list.length < MAX_SEGMENTS) this.list.push({ start: seq, end, xmitTs: now, order, retransmitted: false, lost: false, markedLost: false, delivered: false, rate })
      return
    }
    // Sent again: cut the entries at both edges, then mark those inside.
    this.cutAt(seq)
    this.cutAt(end)
    for (const s of this.list) {
      if (seqLe(end, s.start)) break
      if (seqLt(s.start, seq)) continue
      s.xmitTs = now
      s.order = order
      s.retransmitted = true
      if (s.lost && !s.delivered) this.lostPending--
      s.lost = false
      s.rate = rate
    }
  }

  trim(sndUna: number): void {
    this.cutAt(sndUna)
    let n = 0
    while (n < this.list.length && seqLe(this.list[n]!.end, sndUna)) {
      const s = this.list[n++]!
      if (!s.delivered) this.deliver(s)
    }
    // All of it acknowledged (every ACK of a request-response exchange): empty the list without splice's array of what it removes.
    if (n === this.list.length) this.list.length = 0
    else if (n > 0) this.list.splice(0, n)
    const first = this.list[0]
    if (first !== undefined && seqLt(first.start, sndUna)) first.start = sndUna
  }

  /** `s` is delivered, cumulatively ACKed or wholly SACKed: counted once, for the delivery rate too. */
  deliver(s: SentSegment): void {
    if (s.lost && !s.delivered) this.lostPending--
    s.delivered = true
    this.rate.onDelivered(s.rate, seqDiff(s.end, s.start), s.xmitTs, s.order, s.retransmitted)
  }

  /** Entries deemed lost so far, in all: PRR tells an ACK that marked one (prr.ts); and their bytes (rs.losses, congestion/rate.ts). */
  lossMarks = 0
  lostBytes = 0

  /**
   * Entries deemed lost and neither sent again nor delivered since: kept as a count, so
   * whether a hole remains (detection.ts) is known without walking the list on every ACK.
   */
  lostPending = 0

  /** Deem `s` lost (RACK, an RTO, or DupThresh at SND.UNA). */
  markLost(s: SentSegment): void {
    if (!s.lost && !s.delivered) this.lostPending++
    s.lost = true
    s.markedLost = true
    this.lossMarks++
    this.lostBytes += seqDiff(s.end, s.start)
  }

  /**
   * Forget the loss marks of an undo (the losses were not real): TCP_INFO's count of them, and
   * with `pending` also the marks of segments not yet sent again (an undone timeout's).
   */
  clearLossMarks(pending = false): void {
    for (const s of this.list) {
      s.markedLost = false
      if (!pending) continue
      if (s.lost && !s.delivered) this.lostPending--
      s.lost = false
    }
  }

  find(seq: number): SentSegment | undefined {
    const i = this.indexOf(seq)
    return i < 0 ? undefined : this.list[i]
  }

  /** The index of the entry holding the byte at `seq`, or -1; the walk stops where the sorted list passes it. */
  private indexOf(seq: number): number {
    for (let i = 0; i < this.list.length; i++) {
      const s = this.list[i]!
      if (seqLt(seq, s.start)) return -1
      if (seqLt(seq, s.end)) return i
    }
    return -1
  }

  clear(): void {
    this.list = []
    this.lostPending = 0
  }

  /**
   * Cut the entries where a SACK block starts or ends inside one, at whole SMSS from the
   * entry's start (Linux's tcp_match_skb_to_sack): the SACKed part is the whole segments the
   * block covers, so an entry is wholly SACKed or not and RACK takes or marks it whole, and a
   * block covering a few bytes of a segment cuts nothing. Both lists are sorted: one pass.
   */
  cutAtBlocks(blocks: readonly SackBlock[], mss: number): void {
    let i = 0
    for (const b of blocks) {
      for (const [edge, up] of [[b.left, true], [b.right, false]] as const) {
        while (i < this.list.length && seqLe(this.list[i]!.end, edge)) i++
        const s = this.list[i]
        if (s === undefined || !seqLt(s.start, edge)) continue
        // The left edge rounds up (what follows it is SACKed in whole segments), the right down.
        const offset = seqDiff(edge, s.start)
        const at = (up ? Math.ceil(offset / mss) : Math.floor(offset / mss)) * mss
        if (at > 0 && at < seqDiff(s.end, s.start)) this.split(i, seqAdd(s.start, at))
      }
    }
  }

  /**
   * Split the entry that holds `seq` strictly inside it into two: where an ACK ends inside an
   * offloaded packet, the part it covers is then an entry delivered whole (Linux's
   * tcp_tso_acked counts the segments of a partly acknowledged skb, and rates them).
   */
  cutAt(seq: number): void {
    const i = this.indexOf(seq)
    if (i >= 0 && this.list[i]!.start !== seq) this.split(i, seq)
  }

  /** Entry `i` becomes two, at `seq` (inside it): the same send, the same marks. */
  private split(i: number, seq: number): void {
    const s = this.list[i]!
    this.list.splice(i + 1, 0, { ...s, start: seq })
    s.end = seq
    if (s.lost && !s.delivered) this.lostPending++ // two entries now where one was
  }
}

/** RFC 8985 6.1's per-connection state. */
export interface Rack {
  /** RACK.xmit_ts and RACK.end_seq: the most recently sent segment known delivered; `order` its SentSegment.order, `retransmitted` whether it had been sent again. */
  xmitTs: number
  endSeq: number
  order: number
  retransmitted: boolean
  /** RACK.rtt: the RTT of that segment (ms). */
  rtt: number
  /** RACK.min_RTT: the least RTT seen (ms), or Infinity. */
  minRtt: number
  /** RACK.fack: the highest end_seq delivered; RACK.reordering_seen: a segment delivered below it. */
  fack: number
  reorderingSeen: boolean
  /** RACK.reo_wnd_mult, RACK.reo_wnd_persist, RACK.dsack_round (6.2 step 4). */
  reoWndMult: number
  reoWndPersist: number
  dsackRound: number | null
  /** When the reorder timer (6.3) goes off (ms), or null. */
  timeoutAt: number | null
}

export function newRack(): Rack {
  return { xmitTs: -Infinity, endSeq: 0, order: 0, retransmitted: false, rtt: 0, minRtt: Infinity, fack: 0, reorderingSeen: false, reoWndMult: 1, reoWndPersist: 0, dsackRound: null, timeoutAt: null }
}
