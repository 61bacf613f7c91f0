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
import { rackLost, rackOnAck } from './rack.js'

/** DupThresh (RFC 5681 3.2, RFC 6675 2): duplicate ACKs that signal a loss, until reordering is seen. */
export const DUP_THRESH = 3

/** FlightSize (RFC 5681 2): data sent and not yet cumulatively acknowledged. */
export function flightSize(tcb: Tcb): number {
  // Our SYN is not data: a Fast Open server sends data before its SYN is acknowledged (RFC 7413 4.2.2).
  const syn = tcb.state === 'SYN-RECEIVED' && tcb.sndUna === tcb.iss ? 1 : 0
  return Math.max(0, seqDiff(tcb.sndNxt, tcb.sndUna) - syn)
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
  const sackedBefore = sb.sackedBytes
  const dsack = dsackOf(blocks, ack)
  if (dsack !== null) {
    tcb.dsacksReceived++
    const undo = tcb.undo
    // Only a D-SACK of a retransmission counts toward an undo: the path duplicates packets too.
    if (undo !== null) {
      for (const seq of undo.retrans) {
        if (seqLe(dsack.left, seq) && seqLt(seq, dsack.right)) {
          undo.retrans.delete(seq)
          undo.dsacked = true
        }
      }
    }
  }
  sb.update(blocks, ack, tcb.sndNxt)
  tcb.sackedChange = sb.sackedBytes - sackedBefore // negative where the ACK covers what was SACKed (recovery/prr.ts)
  tcb.ackDsack = dsack
  // RACK (RFC 8985 6.2) runs here for a duplicate ACK; an ACK that moves SND.UNA runs it in
  // send.ts newAck, which the fast path (fast-path.ts) takes without coming here.
  if (ack === tcb.sndUna) rackOnAck(tcb, ack, dsack)
}

/**
 * RFC 2883 4: the first SACK block reports a duplicate segment (a D-SACK) when it lies below
 * the cumulative ACK, or inside the second block.
 */
export function dsackOf(blocks: readonly SackBlock[], ack: number): SackBlock | null {
  const first = blocks[0]
  if (first === undefined || !seqLt(first.left, first.right)) return null
  if (seqLe(first.right, ack)) return first
  const second = blocks[1]
  return second !== undefined && seqLe(second.left, first.left) && seqLe(first.right, second.right) ? first : null
}

/**
 * Is the byte at `seq`, in a hole, lost? With SACK, RACK says (RFC 8985 6.2: its segment was
 * sent a reordering window before one delivered); without, nothing is known per byte.
 */
export function isLost(tcb: Tcb, seq: number): boolean {
  return tcb.sackOk && !tcb.scoreboard.isSacked(seq) && rackLost(tcb, seq)
}

/** A segment in flight is deemed lost and not yet resent (never, without SACK). */
export function lostHoleRemains(tcb: Tcb): boolean {
  return tcb.sackOk && tcb.sent.lostPending > 0
}

/**
 * Was this recovery needless? Eifel (RFC 3522): the first ACK to cover the retransmitted
 * segment echoes a timestamp older than the retransmission's, so the original made it. Or
 * RFC 3708 (as Linux's undo_retrans): a D-SACK came back for every retransmission it sent.
 */
export function spurious(tcb: Tcb): NonNullable<Tcb['undo']> | null {
  const undo = tcb.undo
  if (undo === null) return null
  // Eifel's ACK is the first to cover the first retransmission (with RACK it need not be at SND.UNA).
  if (undo.tsVal !== null && tcb.ackTsEcr !== undefined && undo.firstEnd !== null && !seqLt(tcb.sndUna, undo.firstEnd)) {
    // It vouches for that one retransmission only: any other went for a hole of its own.
    const eifel = seqLt(tcb.ackTsEcr, undo.tsVal) && undo.retrans.size <= 1
    undo.tsVal = null // only the first ACK after the retransmission can tell
    if (eifel) return undo
  }
  return undo.dsacked && undo.retrans.size === 0 ? undo : null
}

/**
 * RFC 6675 4, SetPipe: the sender's estimate of the bytes in the network. Every
 * byte between SND.UNA and SND.NXT that is neither SACKed nor deemed lost counts
 * once, and once more if it was retransmitted (below HighRxt). All bytes of one
 * hole share IsLost, since the same SACKed blocks lie above each of them.
 */
export function pipe(tcb: Tcb): number {
  if (!tcb.sackOk) return pipeWithoutSack(tcb)
  // Per segment (RFC 8985 6.1): not SACKed and not deemed lost since it last went, once.
  // A retransmission clears `lost`, so a resent hole counts once, as RFC 6675's HighRxt rule
  // counts it; with the scoreboard walked in step, the pass is linear.
  const blocks = tcb.scoreboard.blocks
  let b = 0
  let n = 0
  for (const s of tcb.sent.segments) {
    if (s.delivered || s.lost) continue
    let len = seqDiff(s.end, s.start)
    while (b < blocks.length && seqLe(blocks[b]!.right, s.start)) b++
    for (let i = b; i < blocks.length && seqLt(blocks[i]!.left, s.end); i++) {
      len -= Math.max(0, seqDiff(seqMin(blocks[i]!.right, s.end), seqMax(blocks[i]!.left, s.start)))
    }
    n += len
  }
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
