// The retransmission timer fired (timers.ts armed it; ../timers.ts onRetransmitTimeout
// calls here, and backs the timer off after an RTO). Before the RTO it is a probe timer:
// the reorder deadline of the hole at SND.UNA passed (RFC 8985 6.3), or nothing was
// acknowledged for two RTTs and a tail loss probe goes (RFC 8985 7.3). At the RTO, the
// congestion response of RFC 5681 3.1 and the go-back-N of the `loss` state.

import { sendSegmentAt } from '../emit.js'
import { seqAdd, seqDiff } from '../seq.js'
import { dataBytes } from '../delivered.js'
import type { Tcb } from '../tcb.js'
import type { SentSegment } from './sent.js'
import { flightSize } from './detection.js'
import { leaveCwr } from './cwr.js'
import { detectLoss, markLostOnRto } from './rack.js'
import { context, cwndBytes, enterRecovery, resend, resendLost, undoRecord } from './recovery-and-undo.js'
import { armRetransmitTimer, probeAllowed } from './timers.js'

/**
 * The timer fired as a probe timer: nothing was acknowledged for two RTTs, so the
 * tail of the flight, or all the ACKs for it, may be lost. Send one segment that
 * makes the peer answer (RFC 8985 7.3): new data if there is some and the peer's
 * window takes it, else the last segment again. Its ACK tells what arrived: if the
 * resent last segment was the one lost, the probe repaired it, and probeAcked makes
 * the congestion response (7.4); its SACK blocks go to the scoreboard and start fast
 * recovery once they show a loss (RFC 6675 IsLost: DupThresh segments SACKed above a
 * hole, so a tail of two lost segments is still left to the RTO; Linux's RACK would
 * act sooner). Returns false when the timer was the RTO itself.
 */
export function tailLossProbe(tcb: Tcb): boolean {
  if (!tcb.probeArmed) return false
  tcb.probeArmed = false
  // RFC 8985 6.3, the reorder timer: look again; what has now waited RACK.rtt + reo_wnd is lost.
  const at = tcb.rack.timeoutAt
  if (tcb.sackOk && at !== null && tcb.host.clock.now() >= at) {
    if (detectLoss(tcb)) {
      if (tcb.lossState === 'open') enterRecovery(tcb, 0, false) // no ACK: nothing delivered
      else resendLost(tcb) // a lost retransmission, in recovery or after an RTO
    }
    armRetransmitTimer(tcb)
    return true
  }
  if (!probeAllowed(tcb)) {
    armRetransmitTimer(tcb) // no moment for a probe (one per flight, not after an RTO, RFC 8985 7): on to the RTO
    return true
  }
  tcb.probeSent = true
  const peerRoom = seqDiff(seqAdd(tcb.sndUna, tcb.sndWnd), tcb.sndNxt)
  const sent = tcb.unsentBytes > 0 && peerRoom >= Math.min(tcb.sndMss, tcb.unsentBytes)
    ? sendSegmentAt(tcb, tcb.sndNxt, Math.min(tcb.sndMss, peerRoom))
    : 0
  if (sent > 0) {
    tcb.tlp = null // new data: its loss, if any, is found as any other (RFC 8985 7.4 asks nothing)
    const start = tcb.sndNxt
    if (tcb.finQueued && seqAdd(start, sent) === seqAdd(tcb.bufSeq, tcb.sendBuffer.length + 1)) tcb.finSeq = seqAdd(start, sent - 1)
    tcb.sndNxt = seqAdd(start, sent)
    tcb.lastDataSent = tcb.host.clock.now()
  } else {
    // The highest-sequence segment as it was sent (7.3): a FIN sent on its own goes again on
    // its own; of an offloaded packet, its last segment (Linux's tcp_send_loss_probe cuts it off).
    const top = tcb.sent.segments.at(-1)
    const last = top !== undefined && top.end === tcb.sndNxt ? lastSegment(tcb, top) : Math.min(tcb.sndMss, flightSize(tcb))
    const flight = Math.min(flightSize(tcb), cwndBytes(tcb))
    tcb.tlp = { end: tcb.sndNxt, flight } // RFC 8985 7.4: answered in probeAcked
    resend(tcb, seqAdd(tcb.sndNxt, -last), last)
  }
  tcb.host.counters.tailLossProbes++
  tcb.host.wheel.arm(tcb.retransmitTimer, tcb.rtt.rto)
  return true
}

/**
 * The retransmission timer expired (RFC 6298 5.4-5.7; the caller backs off the
 * timer). cwnd falls to one segment (RFC 5681 3.1), `recover` is set to the
 * highest sequence number sent (RFC 6582 4), and the segment at SND.UNA goes again.
 */
export function retransmissionTimeout(tcb: Tcb): void {
  tcb.probeArmed = false
  const synchronized = tcb.state !== 'SYN-SENT' && tcb.state !== 'SYN-RECEIVED'
  if (synchronized) tcb.host.counters.retransmitTimeouts++
  // Should the timeout prove needless, what to restore (Linux's tcp_enter_loss, tcp_init_undo):
  // on the first timeout from the open state, cwnd and ssthresh now. One from fast recovery
  // keeps the recovery's record, for D-SACKs only (its Eifel TSval is not this timeout's); a
  // later timeout of the same episode keeps whatever record there is.
  if (!synchronized) tcb.undo = null
  else if (tcb.retries === 1) {
    if (tcb.lossState === 'open') tcb.undo = undoRecord(tcb)
    else if (tcb.lossState === 'recovery' && tcb.undo !== null) tcb.undo.tsVal = null
    else tcb.undo = null
  }
  if (!synchronized) tcb.synRetransmitted = true
  else tcb.cc.onRto(flightSize(tcb), tcb.retries === 1, context(tcb))
  tcb.lossState = 'loss'
  leaveCwr(tcb) // the timeout's reduction replaces an ECN one under way
  tcb.dupAcks = 0
  tcb.dupDelivered = 0
  tcb.rttSeq = null // Karn: a retransmitted segment is never timed
  tcb.tlp = null
  tcb.recover = seqAdd(tcb.sndNxt, -1)
  tcb.rtxNext = tcb.sndUna
  markLostOnRto(tcb) // RFC 8985 6.3: SND.UNA's segment, and all that waited long enough
  // RFC 2018 8: the peer may have dropped what it SACKed (reneging). Like Linux, trust the
  // scoreboard on the first timeout, so go-back-N resends only the holes; a second timeout
  // in a row without progress forgets it and resends everything from SND.UNA.
  if (tcb.retries > 1) tcb.scoreboard.clear()
  const sent = resend(tcb, tcb.sndUna, tcb.sndMss)
  tcb.rtxNext = seqAdd(tcb.sndUna, sent)
}

/** The last segment of entry `s`, in sequence space: what is left past its whole SMSS of data, its FIN riding along. */
function lastSegment(tcb: Tcb, s: SentSegment): number {
  const len = seqDiff(s.end, s.start)
  const data = dataBytes(tcb, s)
  if (data <= tcb.sndMss) return len
  return data - Math.floor((data - 1) / tcb.sndMss) * tcb.sndMss + (len - data)
}
