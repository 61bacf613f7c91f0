// Segments delivered to the peer, as Linux counts them in tp->delivered (TCP_INFO's
// tcpi_delivered; the count its rate samples and BBR are built on): every segment newly
// cumulatively ACKed or SACKed, retransmissions included, once each. How Linux counts:
//
//   tcp_clean_rtx_queue   a cumulative ACK: the segments it covers that were not SACKed
//   tcp_sacktag_one       a SACK block: the segments it covers anew
//   tcp_add_reno_sack     without SACK, a duplicate ACK: one segment left the network
//   tcp_remove_reno_sacks without SACK, the ACK that then moves: what it covers, less what
//                         the duplicate ACKs counted, and at least one (the hole)
//   tcp_rcv_state_process SYN-RECEIVED -> ESTABLISHED: the SYN,ACK, never in the
//                         retransmission queue of a passive open (net/ipv4/tcp_input.c)
//
// Our SYN counts when acknowledged (it is a segment in Linux's queue), and data sent in our SYN
// (Fast Open) as one more segment once wholly acknowledged. An entry of the sent list
// (recovery/sent.ts) is one segment, or an offloaded packet of as many as it has SMSS of data
// (Linux's tcp_skb_pcount); a FIN adds none to the data before it.

import { seqAdd, seqDiff, seqLe, seqLt } from './seq.js'
import type { SentSegment } from './recovery/sent.js'
import type { Tcb } from './tcb.js'

/** Segments entry `s` stands for, `prev` the entry before it (Linux's tcp_skb_pcount). */
export function segmentsOf(tcb: Tcb, s: SentSegment, prev: SentSegment | undefined): number {
  const finRider = tcb.finSeq === s.start && seqDiff(s.end, s.start) === 1 && prev !== undefined && prev.end === s.start && prev.order === s.order
  if (finRider) return 0
  return Math.max(1, Math.ceil(dataBytes(tcb, s) / Math.max(1, tcb.sndMss)))
}

/** The data entry `s` carries: its sequence space less our FIN, if the FIN is in it. */
export function dataBytes(tcb: Tcb, s: SentSegment): number {
  const fin = tcb.finSeq !== null && !seqLt(tcb.finSeq, s.start) && seqLt(tcb.finSeq, s.end) ? 1 : 0
  return seqDiff(s.end, s.start) - fin
}

/** Without SACK, before the sent list is trimmed to `ack`: what a cumulative ACK delivers (tcp_remove_reno_sacks). */
export function deliveredByCumulativeAck(tcb: Tcb, ack: number): void {
  tcb.sent.cutAt(ack) // an offloaded packet acknowledged in part: its segments below the ACK count
  let acked = 0
  let prev: SentSegment | undefined
  for (const s of tcb.sent.segments) {
    if (!seqLe(s.end, ack)) break
    acked += segmentsOf(tcb, s, prev)
    prev = s
  }
  if (acked === 0) return
  // One ACK fills the hole; the rest were counted by the duplicate ACKs (dupDelivered, one SMSS each).
  const counted = Math.floor(tcb.dupDelivered / Math.max(1, tcb.sndMss))
  tcb.delivered += Math.max(acked - counted, 1)
}

/** Without SACK, a duplicate ACK: one segment delivered, if the duplicate ACK counting took it (tcp_add_reno_sack). */
export function deliveredByDupAck(tcb: Tcb, dupDeliveredBefore: number): void {
  if (!tcb.sackOk && tcb.dupDelivered > dupDeliveredBefore) tcb.delivered++
}

/**
 * Our SYN is acknowledged in SYN-SENT: the SYN, and the data it carried (Fast Open, RFC 7413)
 * if all of it is acknowledged, `synData` bytes from ISS + 1.
 */
export function deliveredBySynAck(tcb: Tcb, ack: number, synData: number): void {
  tcb.delivered++
  if (synData > 0 && seqLe(seqAdd(tcb.iss, 1 + synData), ack)) tcb.delivered++
}
