// The retransmission timer, and when it goes off: at the RTO (RFC 6298 5.1), sooner at the
// probe timeout of a tail loss probe (RFC 8985 7.2), or at RACK's reorder timer, when a
// segment sent before one delivered has waited out RACK.rtt + reo_wnd (RFC 8985 6.3). One timer for the three,
// as Linux's icsk_retransmit_timer; `tcb.probeArmed` says which it is. What it does when it
// fires is timeouts.ts's.

import type { Tcb } from '../tcb.js'
import { flightSize } from './detection.js'

/** RFC 8985 7.2: WCDelAckT, the longest a peer may delay the ACK of a lone segment. */
const WORST_CASE_DELAYED_ACK_MS = 200

/**
 * Arm the retransmission timer for in-flight data: at the RTO (RFC 6298 5.1), or
 * sooner at the probe timeout (PTO) of a tail loss probe (RFC 8985 7.2): two smoothed
 * RTTs, plus the peer's delayed ACK when only one segment is out, at most the RTO. With
 * SACK, one probe per flight, in fast recovery too (Linux only in its Open and CWR states):
 * there a lost retransmission with nothing sent after it is invisible to RACK, and PRR may
 * leave no room to send more, so without a probe only the RTO would find it.
 */
export function armRetransmitTimer(tcb: Tcb): void {
  const rto = tcb.rtt.rto
  const srtt = tcb.rtt.srtt
  let pto = Infinity
  if (probeAllowed(tcb) && srtt !== undefined) {
    const config = tcb.host.config
    pto = Math.max(2 * srtt, config.probeTimeoutMinMs)
    pto += flightSize(tcb) <= tcb.sndMss ? WORST_CASE_DELAYED_ACK_MS : config.probeTimeoutSlackMs
  }
  // RFC 8985 7.2: PTO = min(PTO, RTO): a probe due after the RTO goes at the RTO, still as a probe.
  const first = Math.min(pto, reorderDeadline(tcb))
  tcb.probeArmed = first !== Infinity
  tcb.host.wheel.arm(tcb.retransmitTimer, Math.ceil(Math.min(first, rto)))
}

/** New data went out: move the probe timer to two RTTs from now, if a probe may be sent (not after an RTO). */
export function scheduleProbe(tcb: Tcb): void {
  if (probeAllowed(tcb)) armRetransmitTimer(tcb)
}

/**
 * May a tail loss probe go (RFC 8985 7)? With SACK, one per flight, never after an RTO; in
 * fast recovery too unless the config says no (probeInRecovery off, as Linux).
 */
export function probeAllowed(tcb: Tcb): boolean {
  if (!tcb.sackOk || tcb.probeSent) return false
  return tcb.lossState === 'open' || (tcb.lossState !== 'loss' && tcb.host.config.probeInRecovery)
}

/**
 * Milliseconds until RACK's reorder timer (RFC 8985 6.3) is due, or Infinity: some segment
 * sent before one delivered has not yet waited RACK.rtt + reo_wnd. In every state, recovery too.
 */
export function reorderDeadline(tcb: Tcb): number {
  const at = tcb.rack.timeoutAt
  if (!tcb.sackOk || at === null) return Infinity
  return Math.max(1, at - tcb.host.clock.now())
}
