// The congestion response to an ECN echo (RFC 3168 6.1.2): the peer saw a CE mark, so the
// network is congested although nothing was lost. cwnd and ssthresh are cut as for a loss,
// once per window of data, and nothing is resent. As Linux's CWR state (tcp_enter_cwr,
// tcp_cwnd_reduction in net/ipv4/tcp_input.c) the cut is spread over the round trip by
// Proportional Rate Reduction (RFC 6937 3), in its conservative form (PRR-CRB) while at or
// below ssthresh; once the window that was in flight is acknowledged, cwnd = ssthresh.
//
//   enterCwr   an ECE ACK in the open state: ssthresh from the algorithm, CWR on the next new data
//   cwrAck     every ACK that moves SND.UNA while reducing: cwnd = pipe + sndcnt, or the end
//   leaveCwr   fast recovery or a timeout takes over (their own reduction counts for this one)

import type { CongestionContext } from '../congestion/types.js'
import { seqGe } from '../seq.js'
import type { Tcb } from '../tcb.js'
import { flightSize, pipe } from './detection.js'

/** An ECE ACK arrived in the open state and no reduction is under way: begin one (6.1.2). */
export function enterCwr(tcb: Tcb, ctx: CongestionContext): void {
  if (tcb.cwr !== null) return
  // BBR v1 does not respond to ECN (Linux skips tcp_cwnd_reduction for it): only the receiver is told.
  if (tcb.cc.onAckSample !== undefined) {
    tcb.ecnCwrPending = true
    return
  }
  const priorCwnd = tcb.cc.cwnd
  tcb.cc.onCongestion(flightSize(tcb), ctx) // ssthresh = beta * cwnd, as for a loss
  tcb.cc.cwnd = priorCwnd // PRR brings it down from here, ACK by ACK
  tcb.cwr = { recover: tcb.sndNxt, priorCwnd, delivered: 0, out: 0 }
  tcb.ecnCwrPending = true // the next new data segment tells the receiver (CWR)
  tcb.host.counters.ecnReductions++
}

/**
 * An ACK that delivered `delivered` bytes while reducing (RFC 6937 3): cwnd = pipe + sndcnt.
 * Once SND.UNA passes the point where the reduction began, it is over: cwnd = ssthresh.
 */
export function cwrAck(tcb: Tcb, delivered: number): void {
  const cwr = tcb.cwr
  if (cwr === null) return
  if (seqGe(tcb.sndUna, cwr.recover)) {
    tcb.cc.cwnd = tcb.cc.ssthresh
    tcb.cwr = null
    return
  }
  const mss = tcb.sndMss
  const ssthresh = tcb.cc.ssthresh
  const inFlight = pipe(tcb)
  cwr.delivered += delivered
  let sndcnt: number
  if (inFlight > ssthresh) {
    sndcnt = Math.ceil((cwr.delivered * ssthresh) / cwr.priorCwnd / mss) * mss - cwr.out
  } else {
    // PRR-CRB: no more than was delivered and not yet replaced, within ssthresh.
    sndcnt = Math.min(ssthresh - inFlight, Math.max(cwr.delivered - cwr.out, delivered))
  }
  if (cwr.out === 0) sndcnt = Math.max(sndcnt, mss) // the first ACK sends one, as Linux's tcp_cwnd_reduction
  tcb.cc.cwnd = inFlight + Math.max(0, sndcnt)
}

/** Fast recovery or an RTO begins: it replaces the reduction. Returns whether one was under way. */
export function leaveCwr(tcb: Tcb): boolean {
  const was = tcb.cwr !== null
  tcb.cwr = null
  return was
}
