// Explicit Congestion Notification in TCP (RFC 3168 6.1): a router that would drop a packet
// marks it Congestion Experienced (CE) in the IP header instead; the receiver echoes that
// with ECE on its ACKs until the sender answers with CWR, having cut cwnd once for the window.
//
//   negotiation (6.1.1)  our SYN carries ECE and CWR (config.ecn 1); a SYN,ACK with ECE alone
//                        agrees. A SYN with both is answered with ECE on the SYN,ACK when
//                        config.ecn is 1 or 2 (2: only when asked, Linux's tcp_ecn default)
//   sending (6.1.2, 6.1.5)  new data goes ECT(0) in the IP header; retransmissions, pure ACKs,
//                        window probes, SYNs and RSTs go Not-ECT
//   receiving (6.1.3)    a CE mark sets ECE on every ACK until a data segment with CWR arrives
//   the response (6.1.2) an ECE ACK cuts cwnd, at most once per window of data (recovery/cwr.ts),
//                        and the next new data segment carries CWR
//
// The TCB keeps the state (ecnOk, ecnEcho, ecnCwrPending); this file is every place that reads
// or sets it, apart from the congestion response.

import { ACK, CWR, ECE, SYN, type TcpSegment } from '../wire/tcp.js'
import { seqGe } from './seq.js'
import type { Tcb } from './tcb.js'

/** The IP header's ECN field (RFC 3168 5). */
export const ECN = { NOT_ECT: 0, ECT1: 1, ECT0: 2, CE: 3 } as const

/** Our SYN's flags: ECE and CWR to ask for ECN (6.1.1), unless config.ecn is not 1 or this SYN is a retransmission. */
export function ecnSynFlags(tcb: Tcb): number {
  // A retransmitted SYN asks no more: a peer or middlebox may drop ECN setup SYNs (6.1.1.1; Linux's tcp_ecn_fallback).
  return tcb.host.config.ecn === 1 && !tcb.synRetransmitted ? ECE | CWR : 0
}

/** Passive open: the peer's SYN asks with ECE and CWR; we agree when configured to (6.1.1). */
export function ecnAcceptSyn(tcb: Tcb, seg: TcpSegment): void {
  const asked = (seg.flags & (ECE | CWR)) === (ECE | CWR)
  tcb.ecnOk = asked && tcb.host.config.ecn !== 0
}

/** Active open: the SYN,ACK agrees with ECE and without CWR, to a SYN that asked (6.1.1). */
export function ecnSynAckArrives(tcb: Tcb, seg: TcpSegment): void {
  tcb.ecnOk = ecnSynFlags(tcb) !== 0 && (seg.flags & (ECE | CWR)) === ECE
}

/** Our SYN,ACK's flag: ECE when we agreed (6.1.1). */
export function ecnSynAckFlags(tcb: Tcb): number {
  return tcb.ecnOk ? ECE : 0
}

/**
 * A segment arrived in the window (6.1.3): CWR on data ends our echo, then a CE mark starts
 * it again (both on one segment: the CE is newer). A CE mark also means the ACK goes at once,
 * so that the sender hears of the congestion within the RTT (as Linux's tcp_ecn_check_ce).
 * Returns whether the segment was CE.
 */
export function ecnSegmentArrives(tcb: Tcb, seg: TcpSegment): boolean {
  if (!tcb.ecnOk) return false
  if (seg.flags & CWR && seg.payload.length > 0) tcb.ecnEcho = false
  if (seg.ecn !== ECN.CE || seg.payload.length === 0) return false // only data is ECT (6.1.4), so only data echoes, as Linux
  tcb.ecnEcho = true
  tcb.host.counters.ecnCeReceived++
  return true
}

/** Does an ACK with these flags carry the peer's echo (6.1.2)? Read by the congestion response. */
export function ecnEchoed(tcb: Tcb, flags: number): boolean {
  return tcb.ecnOk && (flags & ECE) !== 0 && (flags & SYN) === 0
}

/**
 * The ECN parts of a segment we send, other than a SYN: ECE while we echo a CE mark; for new
 * data (`seq` at SND.NXT) ECT(0) in the IP header, and CWR once after a reduction. Returns
 * the flags to add and the IP header's ECN field.
 */
export function ecnOutgoing(tcb: Tcb, seq: number, flags: number, dataLength: number): { flags: number; ecn: number } {
  if (!tcb.ecnOk) return { flags: 0, ecn: ECN.NOT_ECT }
  let add = tcb.ecnEcho && flags & ACK ? ECE : 0
  if (dataLength === 0 || !seqGe(seq, tcb.sndNxt)) return { flags: add, ecn: ECN.NOT_ECT } // 6.1.4, 6.1.5
  if (tcb.ecnCwrPending) {
    add |= CWR
    tcb.ecnCwrPending = false
  }
  return { flags: add, ecn: ECN.ECT0 }
}
