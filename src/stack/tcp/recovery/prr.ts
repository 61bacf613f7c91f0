// Proportional Rate Reduction (RFC 6937 3; RFC 9937, its revision, as Linux's
// tcp_cwnd_reduction runs it): how much a fast recovery sends, for NewReno and CUBIC
// alike. The algorithm in congestion/ sets the target, ssthresh; PRR brings what is in
// flight down to it across one round trip, in proportion to what the peer reports received,
// rather than all at once (RFC 6675 sends nothing for half a window, then a burst) or by
// inflating cwnd (RFC 6582). The per-ACK accounting, in bytes:
//
//   on entering   prr_delivered = 0, prr_out = 0, RecoverFS = FlightSize less what was SACKed before
//   on each ACK   DeliveredData = newly cumulatively ACKed + change in SACKed (one SMSS per dup ACK without SACK)
//                 prr_delivered += DeliveredData
//                 pipe > ssthresh:  sndcnt = CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out
//                 otherwise:        sndcnt = MIN(ssthresh - pipe, MAX(prr_delivered - prr_out, DeliveredData) + SMSS)
//                 cwnd = pipe + sndcnt
//   on sending    prr_out += the bytes sent, retransmissions and new data
//   on leaving    cwnd = ssthresh
//
// While pipe is above ssthresh the first rule sends ssthresh/RecoverFS of what is delivered
// (one segment per two ACKs for NewReno's 1/2, seven per ten for CUBIC's 0.7). Once more
// was lost than the reduction asked for, pipe falls below ssthresh and the second rule, the
// slow-start reduction bound (PRR-SSRB), catches up: at most one segment more than was
// delivered per ACK. From RFC 9937 come RecoverFS, the fast retransmit forced on the first
// ACK, and nothing sent on an ACK that delivers nothing; its "safe ACK" rule (the SMSS
// only when SND.UNA moves and no further loss shows) only with prrSafeAck (the Linux
// profile), as it measured worse here (docs/congestion-control.md). The sending itself is RFC 6675's: cwnd - pipe.

import type { Tcb } from '../tcb.js'
import { flightSize, pipe } from './detection.js'

/** On entering recovery (RFC 6937 3), after the ACK that starts it has been taken: `delivered` is its DeliveredData. */
export function startPrr(tcb: Tcb, delivered: number): void {
  // RecoverFS: RFC 6937 says FlightSize; RFC 9937 leaves out what the peer had reported
  // received before this ACK, which no later ACK can report again (its DeliveredData counts).
  const reported = tcb.sackOk ? tcb.scoreboard.sackedBytes : tcb.dupDelivered
  const recoverFs = Math.max(flightSize(tcb) - (reported - delivered), tcb.sndMss)
  tcb.prr = { delivered: 0, out: 0, recoverFs, sndcnt: 0, lossMarks: tcb.sent.lossMarks }
}

/**
 * DeliveredData of an ACK that moved SND.UNA by `acked` bytes (RFC 6937 3): with SACK, those
 * bytes plus the change in bytes SACKed (negative where the ACK covers SACKed bytes, counted
 * when they were SACKed). Without SACK the duplicate ACKs counted one SMSS for each segment
 * above the hole: all of `acked` but the hole's segment was counted already (Linux's
 * tcp_remove_reno_sacks).
 */
export function deliveredByAck(tcb: Tcb, acked: number): number {
  if (tcb.sackOk) {
    const delivered = Math.max(0, acked + tcb.sackedChange)
    tcb.sackedChange = 0
    return delivered
  }
  const counted = Math.min(tcb.dupDelivered, Math.max(0, acked - tcb.sndMss))
  tcb.dupDelivered -= counted
  return acked - counted
}

/**
 * DeliveredData of a duplicate ACK: the bytes it SACKed anew, or without SACK one SMSS
 * (RFC 6937 3), but never more in all than one window less the hole: a receiver that splits
 * its ACKs cannot clock out more than it holds.
 */
export function deliveredByDupAck(tcb: Tcb): number {
  if (tcb.sackOk) {
    const delivered = Math.max(0, tcb.sackedChange)
    tcb.sackedChange = 0
    return delivered
  }
  const before = tcb.dupDelivered
  tcb.dupDelivered = Math.max(before, Math.min(before + tcb.sndMss, flightSize(tcb) - tcb.sndMss))
  return tcb.dupDelivered - before
}

/**
 * Every ACK in recovery (RFC 6937 3), the first included: set cwnd so that RFC 6675's
 * cwnd - pipe lets this ACK send sndcnt bytes. `advanced`: the ACK moved SND.UNA.
 */
export function prrAck(tcb: Tcb, delivered: number, advanced: boolean): void {
  const prr = tcb.prr
  const newlyLost = tcb.sent.lossMarks !== prr.lossMarks
  prr.lossMarks = tcb.sent.lossMarks
  if (delivered <= 0 && prr.out > 0) return // RFC 9937: nothing delivered, nothing more may go
  prr.delivered += delivered
  const mss = tcb.sndMss
  const ssthresh = tcb.cc.ssthresh
  const inFlight = pipe(tcb)
  let sndcnt: number
  if (inFlight > ssthresh) {
    // Proportional part; CEIL in whole segments, as Linux counts, so the first ACK of a
    // round may send rather than the second.
    sndcnt = Math.ceil((prr.delivered * ssthresh) / prr.recoverFs / mss) * mss - prr.out
  } else {
    // Slow-start reduction bound (PRR-SSRB): what was delivered and not yet replaced, one SMSS
    // more; with prrSafeAck (RFC 9937) that SMSS only on a safe ACK, else the conservative bound.
    const safe = !tcb.host.config.prrSafeAck || (advanced && !newlyLost)
    sndcnt = Math.min(ssthresh - inFlight, Math.max(prr.delivered - prr.out, delivered) + (safe ? mss : 0))
  }
  if (prr.out === 0) sndcnt = Math.max(sndcnt, mss) // RFC 9937: the fast retransmit goes on the first ACK
  prr.sndcnt = Math.max(0, sndcnt)
  tcb.cc.cwnd = inFlight + prr.sndcnt
}

/** RFC 6937 3: every byte sent in recovery, retransmitted or new, counts toward prr_out. */
export function prrSent(tcb: Tcb, bytes: number): void {
  if (tcb.lossState === 'recovery') tcb.prr.out += bytes
  if (tcb.cwr !== null) tcb.cwr.out += bytes // the ECN reduction's PRR (cwr.ts)
}
