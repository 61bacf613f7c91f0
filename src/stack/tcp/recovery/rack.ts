// RACK (RFC 8985 6): loss detection by time. Each segment in flight carries the time it was
// last sent (sent.ts). When the peer reports a segment delivered, every segment sent a
// reordering window or more before it, and not delivered, is lost: for every hole, not only
// the first, and for retransmissions too, which a later-sent segment's delivery exposes the
// same way. What has not waited that long yet is looked at again by the reorder timer (6.3).
// The reordering window grows with D-SACKs, which show a retransmission was needless (6.2
// step 4, RFC 2883). Used with SACK only; without it RFC 6675's DupThresh rule stays.

import type { SackBlock } from '../sack.js'
import { seqDiff, seqGt, seqLe, seqLt } from '../seq.js'
import type { Tcb } from '../tcb.js'
import type { Rack, SentSegment } from './sent.js'
import { segmentsOf } from '../delivered.js'

export type { Rack } from './sent.js'

/** The most reordering (segments) a connection will allow for, as Linux's tcp_max_reordering. */
export const MAX_REORDERING = 300

/**
 * RFC 8985 6.2, RACK_sent_after: was segment `s` sent after the one RACK holds? Equal times
 * go by the order of sending (the RFC breaks ties by end_seq, which with a 1 ms clock would
 * put a retransmission before the segments sent just ahead of it); the segments of one send
 * (a burst written at once) by end_seq, as the RFC.
 */
function sentAfter(s: SentSegment, rack: Rack): boolean {
  if (s.xmitTs !== rack.xmitTs) return s.xmitTs > rack.xmitTs
  return s.order > rack.order || (s.order === rack.order && seqGt(s.end, rack.endSeq))
}

/**
 * Is the segment fully delivered: below the ACK or inside a SACK block? The scoreboard
 * walks in step with the list (both sorted), so the whole pass is linear, and it stops at
 * the first segment ending above both the ACK and the highest SACKed byte: nothing past it
 * can be delivered, so a steady transfer looks only at what this ACK covers.
 */
function eachDelivered(tcb: Tcb, ack: number, fn: (s: SentSegment) => void): void {
  const blocks = tcb.scoreboard.blocks
  const highest = tcb.scoreboard.highestSacked
  const limit = highest !== null && seqGt(highest, ack) ? highest : ack
  let b = 0
  let prev: SentSegment | undefined
  for (const s of tcb.sent.segments) {
    if (seqGt(s.end, limit)) break
    const before = prev
    prev = s
    if (s.delivered) continue
    let delivered = seqLe(s.end, ack)
    if (!delivered) {
      while (b < blocks.length && seqLe(blocks[b]!.right, s.start)) b++
      const block = blocks[b]
      delivered = block !== undefined && seqLe(block.left, s.start) && seqLe(s.end, block.right)
    }
    if (delivered) {
      tcb.sent.deliver(s)
      tcb.delivered += segmentsOf(tcb, s, before) // Linux's tp->delivered (tcp_clean_rtx_queue, tcp_sacktag_one)
      fn(s)
    }
  }
}

/**
 * An ACK arrived and the scoreboard took its blocks (detection.ts takeSack): RACK's steps 2-5
 * (6.2). `dsack`: the ACK carried a D-SACK block (RFC 2883). Returns whether a segment was
 * newly marked lost; the reorder timer's deadline is left in `tcb.rack.timeoutAt`.
 */
export function rackOnAck(tcb: Tcb, ack: number, dsack: SackBlock | null): boolean {
  const rack = tcb.rack
  const now = tcb.host.clock.now()
  // Step 2 (update RACK.xmit_ts, .end_seq, .rtt) and step 3 (detect reordering), per segment delivered.
  let reorderedFrom: number | null = null // the lowest original delivered below RACK.fack
  // An offloaded packet acknowledged or SACKed in part: the part delivered becomes an entry of its own.
  tcb.sent.cutAt(ack)
  tcb.sent.cutAtBlocks(tcb.scoreboard.blocks, tcb.sndMss)
  eachDelivered(tcb, ack, s => {
    const rtt = now - s.xmitTs
    // A retransmitted segment delivered faster than any RTT seen: the original's delivery, not this copy's.
    if (s.retransmitted && rtt < rack.minRtt) return
    if (!s.retransmitted) rack.minRtt = Math.min(rack.minRtt, rtt)
    rack.rtt = rtt
    if (sentAfter(s, rack)) {
      rack.xmitTs = s.xmitTs
      rack.endSeq = s.end
      rack.order = s.order
      rack.retransmitted = s.retransmitted
    }
    if (seqGt(s.end, rack.fack) || rack.fack === 0) rack.fack = s.end
    else if (seqLt(s.end, rack.fack) && !s.retransmitted) {
      reorderedFrom ??= s.start
      if (!rack.reorderingSeen) tcb.host.counters.reorderingSeen++
      rack.reorderingSeen = true
    }
  })
  if (reorderedFrom !== null) noteReordering(tcb, reorderedFrom)
  tcb.sent.trim(ack)
  updateReoWnd(tcb, ack, dsack !== null)
  return detectLoss(tcb)
}

/**
 * How far the path reorders, in segments (Linux's tp->reordering, tcp_check_sack_reordering):
 * the distance from RACK.fack down to the lowest original just delivered below it, if more
 * than seen so far. TCP_INFO reports it; without SACK blocks it is the DupThresh.
 */
function noteReordering(tcb: Tcb, low: number): void {
  const mss = tcb.sndMss
  const distance = seqDiff(tcb.rack.fack, low)
  if (distance > tcb.reordering * mss) tcb.reordering = Math.min(Math.ceil(distance / mss), MAX_REORDERING)
}

/**
 * Step 4, RACK_update_reo_wnd: a D-SACK (at most one per round trip) widens the window by
 * another min_RTT/4, for 16 recoveries; until reordering is seen it is 0 in recovery or once
 * DupThresh segments are SACKed (RFC 6675's rule, kept as a lower bound).
 */
function updateReoWnd(tcb: Tcb, ack: number, dsack: boolean): void {
  const rack = tcb.rack
  if (rack.dsackRound !== null && !seqLt(ack, rack.dsackRound)) rack.dsackRound = null
  if (rack.dsackRound === null && dsack) {
    rack.dsackRound = tcb.sndNxt
    rack.reoWndMult++
    rack.reoWndPersist = 16
  }
}

/** A recovery ended (step 4): the widened window lasts 16 of them after the last D-SACK. */
export function rackRecoveryEnded(tcb: Tcb): void {
  const rack = tcb.rack
  if (--rack.reoWndPersist <= 0) rack.reoWndMult = 1
}

/** RACK.reo_wnd now (ms). */
export function reoWnd(tcb: Tcb): number {
  const rack = tcb.rack
  if (!rack.reorderingSeen) {
    if (tcb.lossState !== 'open') return 0
    if (tcb.scoreboard.sackedBytes >= 3 * tcb.sndMss) return 0 // DupThresh segments SACKed
  }
  const srtt = tcb.rtt.srtt ?? rack.minRtt
  const minRtt = Number.isFinite(rack.minRtt) ? rack.minRtt : srtt
  // At least the clock's tick (1 ms): on a path faster than that, a window of 0 would take
  // the next segment's SACK, before the one in between could arrive, for a loss.
  return Math.max(1, Math.min((minRtt / 4) * rack.reoWndMult, srtt))
}

/**
 * Step 5, RACK_detect_loss: a segment sent before RACK.xmit_ts and still not delivered RACK.rtt
 * + reo_wnd after it went is lost. Those not yet that old set the reorder timer (6.3).
 */
export function detectLoss(tcb: Tcb): boolean {
  const rack = tcb.rack
  const now = tcb.host.clock.now()
  const window = reoWnd(tcb)
  let timeout = 0
  let marked = false
  // RACK's segment an original: every segment ending above it went after it (new data goes
  // in sequence order, and a resend later still), so the pass may stop there.
  const stopAbove = rack.order > 0 && !rack.retransmitted ? rack.endSeq : null
  for (const s of tcb.sent.segments) {
    if (stopAbove !== null && seqGt(s.end, stopAbove)) break
    if (s.delivered || s.lost) continue
    if (sentAfter(s, rack)) continue
    const remaining = s.xmitTs + rack.rtt + window - now
    if (remaining <= 0) {
      tcb.sent.markLost(s)
      marked = true
    } else timeout = Math.max(timeout, remaining)
  }
  rack.timeoutAt = timeout > 0 ? now + timeout : null
  return marked
}

/** RFC 8985 6.3 on an RTO: the segment at SND.UNA and every one that has waited RACK.rtt + reo_wnd is lost. */
export function markLostOnRto(tcb: Tcb): void {
  const now = tcb.host.clock.now()
  const window = reoWnd(tcb)
  for (const s of tcb.sent.segments) {
    if (s.delivered) continue
    if (s.start === tcb.sndUna || s.xmitTs + tcb.rack.rtt + window - now <= 0) tcb.sent.markLost(s)
  }
  tcb.rack.timeoutAt = null
}

/** Is the byte at `seq` in a segment RACK deems lost (and not sent again since)? */
export function rackLost(tcb: Tcb, seq: number): boolean {
  return tcb.sent.find(seq)?.lost === true
}
