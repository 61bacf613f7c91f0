// Loss detection: which segments the ACKs say are lost, and which were only late. The
// rules of RFC 6675 (IsLost: DupThresh segments SACKed above a hole) with DupThresh the
// reordering seen on the path, as Linux's tp->reordering; RACK's time rule once the path is
// seen to reorder (RFC 8985 6.2); the SACK blocks of each ACK taken into the scoreboard;
// Eifel detection of a needless retransmission (RFC 3522); and what is in the network
// (FlightSize, RFC 5681 2; pipe, RFC 6675 4, and its estimate without SACK). Nothing here
// sends or arms a timer: what to do about a loss is recovery-and-undo.ts's, when to look
// again is timers.ts's, how much to send in recovery prr.ts's.

import { seqDiff, seqGt, seqLe, seqLt, seqMax, seqMin } from '../seq.js'
import type { SackBlock } from '../sack.js'
import type { Tcb } from '../tcb.js'

/** DupThresh (RFC 5681 3.2, RFC 6675 2): duplicate ACKs that signal a loss, until reordering is seen. */
export const DUP_THRESH = 3

/** The most reordering (segments) a connection will allow for, as Linux's tcp_max_reordering. */
export const MAX_REORDERING = 300

/** FlightSize (RFC 5681 2): data sent and not yet cumulatively acknowledged. */
export function flightSize(tcb: Tcb): number {
  return Math.max(0, seqDiff(tcb.sndNxt, tcb.sndUna))
}

/**
 * The SACK blocks of an arriving ACK go into the scoreboard (RFC 2018, RFC 6675). The
 * first block holds the segment that just arrived (RFC 2018 4); if it SACKs bytes below
 * the highest byte SACKed before, where no retransmission went, an original segment
 * arrived after later ones: reordering (as Linux's tcp_sacktag_one). Later blocks only
 * repeat; one seen late may just have had its earlier ACKs lost.
 */
export function takeSack(tcb: Tcb, blocks: readonly SackBlock[], ack: number): void {
  const sb = tcb.scoreboard
  const top = sb.highestSacked
  const sackedBefore = sb.sackedBytes
  const first = blocks[0]
  // The first byte this block SACKs anew, if it lies below `top`.
  let fresh: number | null = null
  if (first !== undefined && top !== null && seqGt(first.left, ack)) {
    const at = sb.firstUnsacked(first.left)
    if (seqLt(at, seqMin(first.right, top))) fresh = at
  }
  sb.update(blocks, ack, tcb.sndNxt)
  tcb.sackedChange = sb.sackedBytes - sackedBefore // negative where the ACK covers what was SACKed (recovery/prr.ts)
  // After an RTO what is still in flight from before it arrives in any order: no measure there.
  if (fresh !== null && tcb.lossState !== 'loss' && !maybeRetransmitted(tcb, fresh)) reorderingSeen(tcb, fresh, top, null)
}

/** Was `seq` (in flight) perhaps retransmitted: below HighRxt of a SACK recovery, or the go-back-N point of an RTO, or a probe's? */
function maybeRetransmitted(tcb: Tcb, seq: number): boolean {
  // A mark outside (SND.UNA, SND.NXT] is from an episode long done.
  const resentBelow = (mark: number) => seqGt(mark, tcb.sndUna) && seqLe(mark, tcb.sndNxt) && seqLt(seq, mark)
  return tcb.tlp !== null || resentBelow(tcb.highRxt) || resentBelow(tcb.rtxNext)
}

/**
 * The hole at `holeAt` was filled by the original segment, not by a retransmission,
 * after the peer already held data up to `top` (RFC 8985 3.2; Linux's
 * tcp_check_sack_reordering): the path reorders. Raise DupThresh to the distance in
 * segments, so that as much reordering is not taken for a loss again, and widen the
 * reordering window: to how late the segment came when that is known (`since`, when the
 * hole showed), at least SRTT/4, at most SRTT.
 */
export function reorderingSeen(tcb: Tcb, holeAt: number, top: number | null, since: number | null): void {
  if (top === null || !seqGt(top, holeAt)) return
  // DupThresh must exceed the segments SACKed above the hole: one per segment from it to `top`.
  const distance = Math.floor(seqDiff(top, holeAt) / tcb.sndMss)
  tcb.reordering = Math.min(MAX_REORDERING, Math.max(tcb.reordering, distance))
  const srtt = tcb.rtt.srtt ?? 0
  const late = since !== null ? tcb.host.clock.now() - since + 1 : 0
  tcb.reoWnd = Math.min(Math.max(tcb.reoWnd, late, srtt / 4), Math.max(srtt, 1))
  tcb.host.counters.reorderingSeen++
}

/**
 * Is the byte at `seq`, in a hole, lost? RFC 6675 IsLost with the path's DupThresh;
 * and once reordering has been seen, also when it lies in the first hole (at SND.UNA)
 * and that hole showed longer ago than the reordering window: RACK's rule (RFC 8985
 * 6.2) that a segment is lost when one sent after it was delivered more than reo_wnd ago.
 */
export function isLost(tcb: Tcb, seq: number): boolean {
  const sb = tcb.scoreboard
  if (sb.isLost(seq, tcb.sndMss, tcb.reordering)) return true
  if (tcb.reordering <= DUP_THRESH || tcb.holeSince === null) return false
  if (tcb.host.clock.now() - tcb.holeSince < tcb.reoWnd) return false
  // Only the first hole: its clock is the one kept. Holes above it may hold segments sent
  // after that clock started, which RACK would time from their own transmission.
  const first = sb.blocks[0]
  return first !== undefined && seqLt(seq, first.left)
}

/** RFC 6675 IsLost of any hole in the scoreboard (never, without SACK). */
export function lostHoleRemains(tcb: Tcb): boolean {
  if (!tcb.sackOk) return false
  const sb = tcb.scoreboard
  for (let hole = sb.nextHole(tcb.sndUna); hole !== null; hole = sb.nextHole(hole.right)) {
    if (isLost(tcb, hole.left)) return true
  }
  return false
}

/**
 * Eifel detection (RFC 3522): the first ACK to cover the retransmitted segment
 * echoes a timestamp older than the retransmission's, so the original made it: the
 * "loss" was reordering (10% of the packets of a netem profile are held back).
 */
export function spurious(tcb: Tcb): NonNullable<Tcb['undo']> | null {
  const undo = tcb.undo
  tcb.undo = null // only the first ACK after the retransmission can tell
  return undo !== null && tcb.ackTsEcr !== undefined && seqLt(tcb.ackTsEcr, undo.tsVal) ? undo : null
}

/**
 * RFC 6675 4, SetPipe: the sender's estimate of the bytes in the network. Every
 * byte between SND.UNA and SND.NXT that is neither SACKed nor deemed lost counts
 * once, and once more if it was retransmitted (below HighRxt). All bytes of one
 * hole share IsLost, since the same SACKed blocks lie above each of them.
 */
export function pipe(tcb: Tcb): number {
  if (!tcb.sackOk) return pipeWithoutSack(tcb)
  const sb = tcb.scoreboard
  const mss = tcb.sndMss
  const retransmitted = (left: number, right: number) =>
    Math.max(0, seqDiff(seqMin(right, tcb.highRxt), left))
  let n = 0
  let at = tcb.sndUna
  for (;;) {
    const hole = sb.nextHole(at)
    if (hole === null) break
    if (!isLost(tcb, hole.left)) n += seqDiff(hole.right, hole.left)
    n += retransmitted(hole.left, hole.right)
    at = hole.right
  }
  // Above the highest SACKed byte nothing is deemed lost yet.
  const tail = seqMax(sb.highestSacked ?? tcb.sndUna, tcb.sndUna)
  if (seqLt(tail, tcb.sndNxt)) n += seqDiff(tcb.sndNxt, tail) + retransmitted(tail, tcb.sndNxt)
  return n
}

/**
 * Without SACK the holes are unknown, so pipe is estimated: FlightSize, less one SMSS per
 * duplicate ACK (a segment that arrived, RFC 6937 3), less the segment at SND.UNA while
 * in recovery it is presumed lost and not yet resent (below HighRxt), as RFC 6582 presumes
 * (Linux's packets_out - sacked_out - lost_out + retrans_out for Reno).
 */
function pipeWithoutSack(tcb: Tcb): number {
  const flight = flightSize(tcb)
  const headLost = tcb.lossState === 'recovery' && !seqLt(tcb.sndUna, tcb.highRxt) ? Math.min(tcb.sndMss, flight) : 0
  return Math.max(0, flight - tcb.dupDelivered - headLost)
}
