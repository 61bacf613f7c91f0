// Repairing losses, and how much the congestion window lets the sender put in flight.
// The algorithm in congestion/ (NewReno or CUBIC) decides how cwnd grows and how far it
// falls; this file decides when, and what to resend. A model-based algorithm (BBR) sets
// cwnd itself from every ACK's delivery rate sample (takeRateSample): PRR and the growth
// here are skipped for it, as Linux skips them for an algorithm with cong_control. detection.ts says what is lost,
// timers.ts when the retransmission timer goes off, timeouts.ts what it does then.
//
//   open      no loss suspected. ACKs grow cwnd; the first two duplicate ACKs
//             each let one new segment go (limited transmit, RFC 3042).
//   recovery  three duplicate ACKs (or SACK saying a segment is lost): fast
//             retransmit and fast recovery until everything sent before the
//             loss is acknowledged. Without SACK, NewReno's (RFC 5681 3.2,
//             RFC 6582: partial ACKs, `recover`); with SACK, RFC 6675's
//             conservative recovery (pipe, NextSeg, HighRxt). Either way PRR
//             (prr.ts, RFC 6937) sets how much each ACK lets go. A recovery the
//             timestamps show needless is undone (Eifel, RFC 3522, RFC 4015).
//   loss      the retransmission timer expired: cwnd is one segment, and
//             everything from SND.UNA to `recover` is resent as slow start
//             reopens the window (go-back-N). Also after the path MTU fell,
//             with cwnd as it was (pathMtuReduced).

import type { CongestionContext } from '../congestion/types.js'
import { createCongestionControl, initialWindow, type CongestionControlName } from '../congestion/index.js'
import { sendSegmentAt } from '../emit.js'
import { tsVal } from '../options.js'
import { seqAdd, seqDiff, seqGt, seqInWindow, seqLe, seqLt, seqMax, seqMin } from '../seq.js'
import type { Tcb } from '../tcb.js'
import { DUP_THRESH, flightSize, lostHoleRemains, pipe, spurious } from './detection.js'
import { deliveredByAck, deliveredByDupAck, prrAck, prrSent, startPrr } from './prr.js'
import { cwrAck, enterCwr, leaveCwr } from './cwr.js'
import { markLostOnRto, rackRecoveryEnded } from './rack.js'
import { armRetransmitTimer } from './timers.js'

export function context(tcb: Tcb): CongestionContext {
  return { now: tcb.host.clock.now(), mss: tcb.sndMss, srtt: tcb.rtt.srtt }
}

/** Does the algorithm set cwnd from rate samples itself (BBR), rather than through PRR and onAck? */
export function modelBased(tcb: Tcb): boolean {
  return tcb.cc.onAckSample !== undefined
}

/**
 * The end of every ACK's processing (ackAdvanced, duplicateAck): its delivery rate sample
 * (congestion/rate.ts; TCP_INFO's delivery_rate), handed with the loss state to a
 * model-based algorithm (Linux's tcp_rate_gen, then cong_control). `delivered`: the
 * ACK's DeliveredData.
 */
function takeRateSample(tcb: Tcb, delivered: number): void {
  const rate = tcb.sent.rate
  const now = tcb.host.clock.now()
  const sample = rate.sample(now, Number.isFinite(tcb.minRtt) ? tcb.minRtt : 0)
  if (tcb.cc.onAckSample === undefined) return
  const lost = tcb.sent.lostBytes - rate.lostBytes
  rate.lostBytes = tcb.sent.lostBytes
  const inFlight = pipe(tcb)
  tcb.cc.onAckSample({ ...context(tcb), lossState: tcb.lossState, inFlight, delivered, lost, totalDelivered: rate.delivered, sample })
  if (tcb.cc.holdsBack === true) rate.markAppLimited(inFlight)
}

/** cwnd in whole segments, as Linux counts it: a window of 2.7 segments sends 2 (and never less than 1). */
export function cwndBytes(tcb: Tcb): number {
  const mss = tcb.sndMss
  return Math.max(1, Math.floor(tcb.cc.cwnd / mss)) * mss
}

/** The connection is established and SMSS known: start congestion control from the initial window (RFC 6928). */
export function startCongestionControl(tcb: Tcb): void {
  tcb.cc.init(tcb.sndMss, tcb.synRetransmitted)
  tcb.recover = tcb.iss // RFC 6582 3.2 step 1: "recover" starts at the ISS
  tcb.lossState = 'open'
  tcb.tlp = null
  tcb.dupAcks = 0
  tcb.dupDelivered = 0
  tcb.lastDataSent = tcb.host.clock.now()
}

/** Change the algorithm of one connection (Socket#setCongestionControl); cwnd and ssthresh carry over, as on Linux. */
export function setCongestionControl(tcb: Tcb, name: CongestionControlName): void {
  if (tcb.cc.name === name) return
  const next = createCongestionControl(name, tcb.sndMss)
  next.cwnd = tcb.cc.cwnd
  next.ssthresh = tcb.cc.ssthresh
  tcb.cc = next
}

/**
 * How many more bytes cwnd lets us send now; output() also keeps to the peer's
 * window. In recovery it is cwnd - pipe (RFC 6675 5 step C), with the cwnd PRR set
 * on the last ACK (prr.ts), to the byte; otherwise cwnd - FlightSize.
 */
export function sendAllowance(tcb: Tcb): number {
  switch (tcb.lossState) {
    case 'loss':
      // Resend what was in flight first; new data once that is done.
      if (seqLe(tcb.rtxNext, tcb.recover)) return 0
      return cwndBytes(tcb) - flightSize(tcb)
    case 'recovery':
      return tcb.cc.cwnd - pipe(tcb)
    case 'open': {
      // Limited transmit (RFC 3042): each of the first two duplicate ACKs lets one more segment go.
      const limited = cwndBytes(tcb) + Math.min(tcb.dupAcks, DUP_THRESH - 1) * tcb.sndMss - flightSize(tcb)
      // With SACK blocks, what the peer holds has left the network: cwnd - pipe (RFC 6675 4),
      // as Linux's tcp_cwnd_test counts tcp_packets_in_flight in every state. While a hole
      // waits out RACK's reordering window each SACK lets a new segment go, so the ACK clock
      // keeps running; limited transmit alone would stall after two.
      if (!tcb.sackOk || tcb.scoreboard.isEmpty) return limited
      return Math.max(limited, cwndBytes(tcb) - pipe(tcb))
    }
  }
}

/** After an output() pass: was the sender held back by cwnd rather than by the application or the peer's window? */
export function noteCwndLimited(tcb: Tcb, unsent: number, peerRoom: number): void {
  const allowance = sendAllowance(tcb)
  tcb.cwndLimited = unsent > 0 && allowance < Math.min(unsent, tcb.sndMss) && peerRoom > allowance
  // The largest flight of this window (Linux's tcp_cwnd_validate); a new window starts once all of the last is acknowledged.
  const flight = flightSize(tcb)
  if (!seqLt(tcb.sndUna, tcb.maxFlightSeq) || flight > tcb.maxFlight) {
    tcb.maxFlight = flight
    tcb.maxFlightSeq = tcb.sndNxt
  }
}

/**
 * May an ACK grow cwnd? When the sender was held back by cwnd (RFC 7661: a window the
 * application does not use is not validated), and in slow start also while cwnd is below twice
 * the largest flight of this window, as Linux's tcp_is_cwnd_limited: a flight that used half of
 * cwnd or more validates it (RFC 7661 4.2's pipeACK >= cwnd/2), so slow start still doubles it.
 */
function mayGrowCwnd(tcb: Tcb): boolean {
  if (tcb.cwndLimited) return true
  return tcb.cc.cwnd < tcb.cc.ssthresh && tcb.cc.cwnd < 2 * tcb.maxFlight
}

/** RFC 5681 4.1: nothing sent for longer than the RTO: the ACK clock is gone, restart from at most IW. */
export function restartAfterIdle(tcb: Tcb): void {
  if (tcb.sndUna !== tcb.sndNxt || tcb.lossState !== 'open') return
  if (tcb.host.clock.now() - tcb.lastDataSent > tcb.rtt.rto) tcb.cc.onIdleRestart(context(tcb))
}

// ---- ACKs arriving ----

/**
 * A duplicate ACK: SND.UNA unchanged while data is outstanding, and either no data
 * and no window change (RFC 5681 2) or new bytes SACKed (RFC 6675 2). Called from
 * the ACK step of input.ts after the SACK scoreboard has taken the ACK's blocks.
 */
export function duplicateAck(tcb: Tcb): void {
  tcb.dupAcks++
  const delivered = deliveredByDupAck(tcb)
  duplicateAckResponse(tcb, delivered)
  takeRateSample(tcb, delivered)
}

function duplicateAckResponse(tcb: Tcb, delivered: number): void {
  // RACK's reorder timer (RFC 8985 6.3): a segment not yet late enough to count as lost.
  if (tcb.rack.timeoutAt !== null) armRetransmitTimer(tcb)
  if (tcb.lossState !== 'open') {
    // RFC 6582 4: no new recovery (no second reduction) for this window; but a resent
    // segment can be lost too. With SACK, RACK marks it lost by time and resendLost sends
    // it again (RFC 8985 6.2); without, the duplicate ACKs tell.
    if (!tcb.sackOk) resendIfRetransmissionLost(tcb)
    else if (tcb.lossState === 'recovery' && tryUndo(tcb, 0)) return
    // Each duplicate ACK is data that left the network: PRR lets part of it be replaced
    // (RFC 6937 3; it replaces RFC 5681 3.2 step 4's inflation). After an RTO cwnd grows
    // only with new ACKs.
    if (tcb.lossState === 'recovery' && !modelBased(tcb)) prrAck(tcb, delivered, false)
    return
  }
  // growOnDelivered: once the path reorders beyond DupThresh, data SACKed grows cwnd too (Linux's tcp_may_raise_cwnd).
  if (tcb.host.config.growOnDelivered && !modelBased(tcb) && tcb.reordering > DUP_THRESH && tcb.cwr === null && mayGrowCwnd(tcb) && delivered > 0) tcb.cc.onAck(delivered, context(tcb))
  // With SACK, RACK marked a segment lost (RFC 8985 6.2); without, RFC 5681's DupThresh,
  // which also stays for a SACK peer whose duplicate ACKs carry no blocks.
  if (lostHoleRemains(tcb)) return enterRecovery(tcb, delivered, false)
  if (tcb.dupAcks < tcb.reordering || !tcb.scoreboard.isEmpty) return
  // RFC 6582 3.2 step 1: only an ACK beyond `recover` may start a new recovery, so one
  // window's losses never halve cwnd twice, and after an RTO the go-back-N's duplicates
  // start none (RFC 6582 4). In the open state `recover` trails SND.UNA (ackAdvanced).
  if (!seqGt(tcb.sndUna, tcb.recover)) return
  enterRecovery(tcb, delivered, false)
}

/**
 * A lost retransmission (Linux's RACK notices these too, RFC 8985): the segment at
 * SND.UNA was resent more than a round trip ago (plus a quarter for reordering) and
 * the peer still sends duplicate ACKs for it. Resend it once more, without a second
 * reduction of cwnd; otherwise only the retransmission timer would, after 200 ms or more.
 */
function resendIfRetransmissionLost(tcb: Tcb): void {
  const at = tcb.unaRtxAt
  if (at === null || tcb.dupAcks < DUP_THRESH) return
  const srtt = tcb.rtt.srtt ?? 0
  if (tcb.host.clock.now() - at <= srtt + srtt / 4 + 1) return
  resend(tcb, tcb.sndUna, tcb.sndMss)
  tcb.dupAcks = 0
}

/**
 * Fast retransmit (RFC 5681 3.2 step 2; RFC 6675 5 step 4) and the start of PRR;
 * `delivered`: the DeliveredData of the ACK that showed the loss (0 from a timer);
 * `advanced`: that ACK moved SND.UNA. A loss RACK finds below `recover`, in the window a
 * tail loss probe's response already reduced for, is repaired the same way but without a
 * second reduction (RFC 6582 3.2 step 1; Linux enters Recovery from CWR so).
 */
export function enterRecovery(tcb: Tcb, delivered: number, advanced: boolean): void {
  const mss = tcb.sndMss
  const reduce = seqGt(tcb.sndUna, tcb.recover)
  tcb.recover = seqAdd(tcb.sndNxt, -1) // RecoveryPoint = HighData
  tcb.lossState = 'recovery'
  tcb.host.counters.fastRetransmits++
  tcb.rttSeq = null // Karn: time no segment while retransmitting
  tcb.tlp = null // this recovery is the congestion response, for a probe's repair too
  // Eifel (RFC 3522): remember what to restore should the ACKs show the original arrived after all.
  // RFC 3708: or should a D-SACK come back for every retransmission it sends.
  tcb.undo = reduce ? undoRecord(tcb) : null
  // RFC 5681 3.2 step 2: FlightSize without what limited transmit sent beyond cwnd. An ECN
  // reduction under way has set ssthresh for this window already (Linux's tcp_enter_recovery).
  const inCwr = leaveCwr(tcb)
  if (reduce && !inCwr) tcb.cc.onCongestion(Math.min(flightSize(tcb), cwndBytes(tcb)), context(tcb))
  tcb.highRxt = tcb.sndUna
  startPrr(tcb, delivered)
  if (!modelBased(tcb)) prrAck(tcb, delivered, advanced) // cwnd = pipe + sndcnt, at least one segment: this one
  if (tcb.sackOk) {
    // What RACK marked lost goes (RFC 8985 6.2), SND.UNA's segment when DupThresh alone spoke.
    const head = tcb.sent.find(tcb.sndUna)
    if (!lostHoleRemains(tcb) && head !== undefined) tcb.sent.markLost(head)
    resendLost(tcb)
  } else resend(tcb, tcb.sndUna, mss) // the segment the duplicate ACKs ask for
  tcb.dupAcks = 0 // from here they count toward noticing that this retransmission was lost
  tcb.highRxt = seqMax(tcb.highRxt, seqAdd(tcb.sndUna, Math.min(mss, flightSize(tcb))))
}

/**
 * What to restore should the reduction about to be made prove needless: cwnd and ssthresh
 * now, the TSval its first retransmission will carry (Eifel, RFC 3522), and room for the
 * retransmissions a D-SACK must report (RFC 3708). For a recovery and for a timeout alike.
 */
export function undoRecord(tcb: Tcb): NonNullable<Tcb['undo']> {
  return { cwnd: tcb.cc.cwnd, ssthresh: tcb.cc.ssthresh, tsVal: tcb.tsOk ? tsVal(tcb) : null, firstEnd: null, retrans: new Set(), dsacked: false }
}

/**
 * The ACK being processed echoes a CE mark (ECE, RFC 3168 6.1.2): in the open state, cut cwnd
 * for this window (cwr.ts); in recovery or after a timeout the cut is made already.
 */
export function ecnEchoArrives(tcb: Tcb): void {
  if (tcb.lossState === 'open') enterCwr(tcb, context(tcb))
}

/**
 * SND.UNA moved forward from `prevUna` (send.ts newAck, just before the retransmission
 * timer is restarted): grow cwnd, or go on with the recovery.
 */
export function ackAdvanced(tcb: Tcb, prevUna: number): void {
  const acked = seqDiff(tcb.sndUna, prevUna)
  const delivered = deliveredByAck(tcb, acked)
  ackResponse(tcb, acked, delivered)
  takeRateSample(tcb, delivered)
}

function ackResponse(tcb: Tcb, acked: number, delivered: number): void {
  tcb.dupAcks = 0
  tcb.probeSent = false
  // The new SND.UNA was resent already if the go-back-N after an RTO went past it.
  tcb.unaRtxAt = tcb.lossState === 'loss' && seqLt(tcb.sndUna, tcb.rtxNext) ? tcb.lastDataSent : null
  // The growth outside recovery: the bytes newly acknowledged, or newly delivered (growOnDelivered).
  const growth = tcb.host.config.growOnDelivered ? delivered : acked
  switch (tcb.lossState) {
    case 'open':
      // RFC 6582's `recover` trails SND.UNA while no reduction covers data in flight. Left
      // at the ISS it would seem ahead of SND.UNA (modulo 2^32) after 2^31 bytes without a
      // loss, and fast retransmit would stop for good; kept close, the comparison holds.
      if (!seqInWindow(tcb.recover, tcb.sndUna, tcb.sndNxt)) tcb.recover = seqAdd(tcb.sndUna, -1)
      // RACK found a loss on this ACK (RFC 8985 6.2): repair it now, not at the next
      // duplicate ACK; the ACK then feeds PRR rather than growing cwnd.
      if (lostHoleRemains(tcb)) return enterRecovery(tcb, delivered, true)
      if (modelBased(tcb)) return // BBR: takeRateSample
      if (tcb.cwr !== null) cwrAck(tcb, delivered) // an ECN reduction under way: no growth (RFC 3168 6.1.2)
      else if (mayGrowCwnd(tcb)) tcb.cc.onAck(growth, context(tcb))
      return
    case 'loss':
      // The timeout was needless (Linux's tcp_process_loss, tcp_try_undo_loss): undone.
      if (tryUndoLoss(tcb, acked)) return
      // Slow start again from one segment, up to the ssthresh the timeout set.
      tcb.cc.onAck(growth, context(tcb))
      if (seqGt(tcb.sndUna, tcb.recover)) {
        tcb.lossState = 'open'
        keepUndoForDsacks(tcb)
        rackRecoveryEnded(tcb)
        // What RACK marked lost among the segments sent since the RTO: a loss of a new window.
        if (lostHoleRemains(tcb)) enterRecovery(tcb, delivered, true)
      }
      return
    case 'recovery': {
      if (tryUndo(tcb, acked)) return
      if (seqGt(tcb.sndUna, tcb.recover)) return exitRecovery(tcb)
      partialAck(tcb)
      if (!modelBased(tcb)) prrAck(tcb, delivered, true)
      return
    }
  }
}

/**
 * Undo the recovery if it was needless (detection.ts spurious): but a hole RACK already
 * deems lost is a real loss in the same window, and the recovery goes on to repair it.
 */
function tryUndo(tcb: Tcb, acked: number): boolean {
  const undo = spurious(tcb)
  if (undo === null || lostHoleRemains(tcb)) return false
  undoRecovery(tcb, undo, acked)
  return true
}

/**
 * After a timeout (RFC 3522 and RFC 3708 for the RTO, as Linux's tcp_try_undo_loss): an ACK
 * that moves SND.UNA past the first retransmission while echoing a TSval older than it (the
 * original arrived, only its ACKs were lost), or D-SACKs for every retransmission, shows the
 * timeout needless. cwnd and ssthresh come back as after a needless recovery, and the loss
 * marks the timeout set go (Linux unmarks them too): what RACK finds lost on later ACKs is a
 * loss of its own.
 */
function tryUndoLoss(tcb: Tcb, acked: number): boolean {
  const undo = spurious(tcb)
  if (undo === null) return false
  tcb.sent.clearLossMarks(true)
  undoRecovery(tcb, undo, acked)
  return true
}

/** A recovery or a timeout ended: its undo record stays while D-SACKs may still show every retransmission needless (dsackArrived). */
function keepUndoForDsacks(tcb: Tcb): void {
  const undo = tcb.undo
  if (undo !== null && undo.retrans.size > 0) undo.tsVal = null // Eifel's moment has passed
  else tcb.undo = null
}

/**
 * RFC 3708 once the recovery is over (Linux's tcp_try_undo_dsack): the D-SACKs for its last
 * retransmissions often come after the full ACK, since the originals that filled the holes
 * made it. When the last of them is in, and no reduction came since, the recovery is undone.
 * Called for every ACK carrying a D-SACK (input.ts), after the scoreboard took it.
 */
export function dsackArrived(tcb: Tcb): void {
  const undo = tcb.undo
  if (tcb.lossState !== 'open' || undo === null || !undo.dsacked || undo.retrans.size > 0) return
  undoRecovery(tcb, undo, 0)
}

/**
 * The Eifel response (RFC 4015 3.2): the reduction is undone, but without a burst.
 * cwnd = min(cwnd before, FlightSize + min(bytes acknowledged, IW)): never the cwnd of
 * the recovery, which NewReno inflated by one SMSS per duplicate ACK; ssthresh =
 * max(ssthresh before, cwnd before), so slow start regains the rest within a round trip.
 * After the recovery cwnd never falls by it, and may grow by up to IW. Out of recovery, with `recover` at SND.UNA - 1:
 * should a hole of this window turn out really lost, its duplicate ACKs start a new
 * recovery rather than wait for the RTO.
 */
function undoRecovery(tcb: Tcb, undo: NonNullable<Tcb['undo']>, acked: number): void {
  const mss = tcb.sndMss
  // After the full ACK (the D-SACKs came late), a burst of up to IW, the most RFC 4015 allows.
  const ended = tcb.lossState === 'open'
  let cwnd = Math.min(undo.cwnd, flightSize(tcb) + Math.min(ended ? Infinity : acked, initialWindow(mss)))
  if (ended) cwnd = Math.max(cwnd, tcb.cc.cwnd)
  tcb.cc.onUndo(Math.max(cwnd, mss), Math.max(undo.ssthresh, undo.cwnd))
  tcb.lossState = 'open'
  tcb.undo = null
  tcb.recover = seqAdd(tcb.sndUna, -1)
  tcb.sent.clearLossMarks()
  tcb.host.counters.spuriousRecoveries++
  if (!ended) rackRecoveryEnded(tcb)
}

/**
 * A full ACK: everything sent before the loss is acknowledged (RFC 6582 3.2 step 3).
 * cwnd = ssthresh, RFC 6582's second choice and PRR's end (RFC 6937 3, Linux's
 * tcp_end_cwnd_reduction): PRR has brought pipe close to it already, so no burst follows.
 * The undo record stays while D-SACKs may still show every retransmission needless (dsackArrived).
 */
function exitRecovery(tcb: Tcb): void {
  tcb.lossState = 'open'
  keepUndoForDsacks(tcb)
  rackRecoveryEnded(tcb)
  if (!modelBased(tcb)) tcb.cc.cwnd = tcb.cc.ssthresh
}

/**
 * A partial ACK: more was lost in the same window. The next hole goes again as PRR allows:
 * with SACK whichever hole NextSeg finds, without SACK the segment at the new SND.UNA
 * (RFC 6582 3.2 step 4, `resendLost`).
 */
function partialAck(tcb: Tcb): void {
  if (tcb.sackOk) tcb.highRxt = seqMax(tcb.highRxt, tcb.sndUna)
}

/**
 * RFC 8985 7.4, on every ACK with SACK (input.ts, after the scoreboard took it): did the tail
 * loss probe that resent data repair a loss? Once the ACK reaches the probe's `end` (SND.NXT
 * when it went): a D-SACK for it means the original arrived too, and so does a pure duplicate
 * ACK: no loss. An ACK beyond `end` without that means the probe repaired one, and the sender
 * MUST respond as fast recovery would: ssthresh and cwnd fall once, from the flight when the
 * probe went (as Linux's tcp_process_tlp_ack).
 */
export function tlpAck(tcb: Tcb, ack: number, advances: boolean): void {
  const tlp = tcb.tlp
  if (tlp === null || seqLt(ack, tlp.end)) return
  const dsack = tcb.ackDsack
  if (dsack !== null && seqLe(dsack.right, tlp.end) && seqGt(dsack.right, seqAdd(tlp.end, -tcb.sndMss - 1))) {
    tcb.tlp = null // both copies arrived: the probe was needless, no reduction
  } else if (seqGt(ack, tlp.end)) {
    tcb.tlp = null
    if (tcb.lossState !== 'open') return // a recovery or an RTO took over: its response counts
    tcb.undo = null // a reduction since: an earlier recovery is no longer to be undone
    tcb.cc.onCongestion(tlp.flight, context(tcb))
    tcb.recover = seqAdd(tcb.sndNxt, -1) // RFC 6582: no second reduction for what is in flight now
  } else if (!advances && tcb.sackedChange === 0) {
    tcb.tlp = null // a pure duplicate ACK: the probe's, after the original's
  }
}

// ---- resending ----

/**
 * The path MTU fell (RFC 1191, icmp-errors.ts): what is in flight in segments larger than
 * the new SND.MSS was dropped by a router, not by congestion. As Linux's
 * tcp_simple_retransmit: the `loss` state without an RTO's congestion response (cwnd and
 * ssthresh stay), so the go-back-N resends SND.UNA to SND.NXT at the new size as cwnd
 * allows, stepping over what the peer has SACKed, and ACKs pace the rest.
 */
export function pathMtuReduced(tcb: Tcb): void {
  flightLost(tcb)
  resendLost(tcb)
}

/**
 * Everything in flight is to go again, lost without congestion (the `loss` state, cwnd and
 * ssthresh kept): the go-back-N of resendLost resends SND.UNA to SND.NXT as cwnd allows.
 * A smaller path MTU (above), or the data of a Fast Open SYN the SYN,ACK did not acknowledge
 * (fast-open-client.ts; Linux's tcp_non_congestion_loss_retransmit).
 */
export function flightLost(tcb: Tcb): void {
  tcb.lossState = 'loss'
  tcb.dupAcks = 0
  tcb.rttSeq = null // Karn: never time a retransmitted segment
  tcb.undo = null
  tcb.tlp = null
  tcb.recover = seqAdd(tcb.sndNxt, -1)
  tcb.rtxNext = tcb.sndUna
  tcb.host.wheel.arm(tcb.retransmitTimer, tcb.rtt.rto)
}

/**
 * Called by output() before new data: what the recovery wants resent now, as far
 * as cwnd allows. After an RTO, the next segments below `recover`; in fast
 * recovery, what nextToResend names, while PRR's cwnd - pipe allows.
 */
export function resendLost(tcb: Tcb): void {
  const mss = tcb.sndMss
  if (tcb.lossState === 'loss') {
    if (seqLt(tcb.rtxNext, tcb.sndUna)) tcb.rtxNext = tcb.sndUna
    // A retransmission of the go-back-N that RACK found lost goes again, as cwnd - pipe allows (RFC 8985 6.2).
    for (let next = lostBelow(tcb, tcb.rtxNext); next !== null; next = lostBelow(tcb, tcb.rtxNext)) {
      const fit = fitting(tcb, next.len, cwndBytes(tcb) - pipe(tcb))
      if (fit === 0 || resend(tcb, next.seq, fit) === 0) break
    }
    const end = seqAdd(tcb.recover, 1)
    for (;;) {
      tcb.rtxNext = skipSacked(tcb, tcb.rtxNext)
      if (!seqLt(tcb.rtxNext, end)) break
      const room = cwndBytes(tcb) - seqDiff(tcb.rtxNext, tcb.sndUna)
      let left = seqDiff(end, tcb.rtxNext)
      // Stop short of the next SACKed block: the peer holds what lies there (RFC 6675 5.1);
      // at the end of a segment, which goes whole unless wholly SACKed (wholeSegmentEnd).
      const hole = tcb.sackOk ? tcb.scoreboard.nextHole(tcb.rtxNext) : null
      if (hole !== null && hole.left === tcb.rtxNext) left = Math.min(left, seqDiff(wholeSegmentEnd(tcb, hole.right), tcb.rtxNext))
      if (room < Math.min(mss, left)) break
      const sent = resend(tcb, tcb.rtxNext, Math.min(room, left))
      if (sent === 0) break
      tcb.rtxNext = seqAdd(tcb.rtxNext, sent)
    }
    return
  }
  if (tcb.lossState !== 'recovery') return
  for (;;) {
    const next = nextToResend(tcb)
    const fit = next === null ? 0 : fitting(tcb, next.len, sendAllowance(tcb))
    if (next === null || fit === 0) return
    const sent = resend(tcb, next.seq, fit)
    if (sent === 0) return
    tcb.highRxt = seqAdd(next.seq, sent)
  }
}

/**
 * How much of a lost entry of `len` bytes may go again in `room`: all of it, or as many whole
 * SMSS as fit (an offloaded packet goes in part, as Linux's __tcp_retransmit_skb cuts an skb
 * to the cwnd quota); 0 for nothing.
 */
function fitting(tcb: Tcb, len: number, room: number): number {
  if (len <= room) return len
  return Math.max(0, Math.floor(room / tcb.sndMss)) * tcb.sndMss
}

/**
 * What recovery resends next: with SACK, the first segment RACK deems lost, its part not
 * SACKed (RFC 8985 6.2, RFC 6675 NextSeg rule 1); without, the segment at SND.UNA if not
 * resent yet (RFC 6582).
 */
function nextToResend(tcb: Tcb): { seq: number; len: number } | null {
  if (!tcb.sackOk) {
    const len = Math.min(tcb.sndMss, flightSize(tcb))
    return seqLt(tcb.sndUna, tcb.highRxt) || len === 0 ? null : { seq: tcb.sndUna, len }
  }
  return lostBelow(tcb, tcb.sndNxt)
}

/**
 * The first segment below `limit` deemed lost and not wholly SACKed, or null. It goes whole:
 * SACK counts per segment here, as Linux's (tcp_match_skb_to_sack takes a block only in whole
 * MSS), so a block covering part of a segment never makes a retransmission of a few bytes.
 */
function lostBelow(tcb: Tcb, limit: number): { seq: number; len: number } | null {
  if (!tcb.sackOk) return null
  for (const s of tcb.sent.segments) {
    if (!seqLt(s.start, limit)) return null
    if (!s.lost || s.delivered) continue
    const at = seqMax(s.start, tcb.sndUna)
    if (!seqLt(tcb.scoreboard.firstUnsacked(at), s.end)) continue // SACKed whole, not yet taken by RACK
    return { seq: at, len: seqDiff(seqMin(s.end, limit), at) }
  }
  return null
}

/** Where a retransmission that reaches `seq` ends: the end of the segment holding `seq - 1` (see lostBelow). */
function wholeSegmentEnd(tcb: Tcb, seq: number): number {
  const s = tcb.sent.find(seqAdd(seq, -1))
  return s !== undefined && seqGt(s.end, seq) ? s.end : seq
}

/**
 * RFC 6675 5.1: after an RTO the SACK information that arrives since SHOULD still be
 * used: go-back-N steps over what the peer says it holds.
 */
function skipSacked(tcb: Tcb, seq: number): number {
  return tcb.sackOk ? tcb.scoreboard.firstUnsacked(seq) : seq
}

/** Resend up to `maxLen` bytes at `seq`; counted. Returns the sequence space sent. */
export function resend(tcb: Tcb, seq: number, maxLen: number): number {
  // Only what was sent: bytes past SND.NXT may lie beyond the peer's window, and
  // their ACK would be refused as acknowledging data never sent (RFC 6298 5.4).
  const sent = sendSegmentAt(tcb, seq, Math.min(maxLen, seqDiff(tcb.sndNxt, seq)))
  if (sent > 0) {
    prrSent(tcb, sent)
    const undo = tcb.lossState !== 'open' ? tcb.undo : null
    if (undo !== null) {
      undo.retrans.add(seq)
      undo.firstEnd ??= seqAdd(seq, sent)
    }
    tcb.host.counters.retransmissions++
    tcb.totalRetransmits++
    tcb.lastDataSent = tcb.host.clock.now()
    if (seq === tcb.sndUna) tcb.unaRtxAt = tcb.lastDataSent
  }
  return sent
}
