// The retransmission timer, and when it goes off: at the RTO (RFC 6298 5.1), sooner at the
// probe timeout of a tail loss probe (RFC 8985 7.2), or at the reorder deadline, when a hole
// at SND.UNA has waited out the reordering window (RFC 8985 6.3). One timer for the three,
// as Linux's icsk_retransmit_timer; `tcb.probeArmed` says which it is. What it does when it
// fires is timeouts.ts's.

import { seqGt } from '../seq.js'
import type { Tcb } from '../tcb.js'
import { DUP_THRESH, flightSize } from './detection.js'

/** RFC 8985 7.2: WCDelAckT, the longest a peer may delay the ACK of a lone segment. */
const WORST_CASE_DELAYED_ACK_MS = 200

/**
 * Arm the retransmission timer for in-flight data: at the RTO (RFC 6298 5.1), or
 * sooner at the probe timeout (PTO) of a tail loss probe (RFC 8985 7.2): two smoothed
 * RTTs, plus the peer's delayed ACK when only one segment is out. With SACK, in the
 * open state, one probe per flight.
 */
export function armRetransmitTimer(tcb: Tcb): void {
  const rto = tcb.rtt.rto
  const srtt = tcb.rtt.srtt
  let pto = Infinity
  if (tcb.sackOk && tcb.lossState === 'open' && !tcb.probeSent && srtt !== undefined) {
    pto = Math.max(2 * srtt, 10)
    if (flightSize(tcb) <= tcb.sndMss) pto += WORST_CASE_DELAYED_ACK_MS
  }
  const first = Math.min(pto, reorderDeadline(tcb))
  tcb.probeArmed = first < rto
  tcb.host.wheel.arm(tcb.retransmitTimer, Math.ceil(Math.min(first, rto)))
}

/** New data went out: move the probe timer to two RTTs from now, if a probe may be sent. */
export function scheduleProbe(tcb: Tcb): void {
  if (tcb.sackOk && tcb.lossState === 'open' && !tcb.probeSent) armRetransmitTimer(tcb)
}

/** Milliseconds until the hole at SND.UNA counts as lost by time (RFC 8985 RACK reorder timer), or Infinity. */
export function reorderDeadline(tcb: Tcb): number {
  if (tcb.lossState !== 'open' || !tcb.sackOk || tcb.reordering <= DUP_THRESH || tcb.holeSince === null) return Infinity
  if (!seqGt(tcb.sndUna, tcb.recover)) return Infinity // no new recovery would start
  return Math.max(1, tcb.holeSince + tcb.reoWnd - tcb.host.clock.now())
}

/**
 * SACK blocks show a hole at SND.UNA: start its clock (once), and remember how far
 * ahead the peer is. Once reordering has been seen, the retransmission timer goes off
 * when the reordering window has passed, even if no more ACKs come (RFC 8985 6.3).
 */
export function watchHole(tcb: Tcb): void {
  if (tcb.scoreboard.isEmpty) return
  tcb.holeTop = tcb.scoreboard.highestSacked
  if (tcb.holeSince !== null) return
  tcb.holeSince = tcb.host.clock.now()
  if (reorderDeadline(tcb) !== Infinity) armRetransmitTimer(tcb)
}
