// The emitter: every segment the TCP layer sends is built here, and only here, as lwIP's
// tcp_out.c sits under the rest: everything sends through it and it calls nothing above.
// Deciding *what* to send is done above it: send.ts (the writer: data and our FIN),
// receive.ts (when to ACK), recovery/ (what goes again), timers.ts (probes).
//
// A TCB's segments carry our current ACK and window, and the options negotiated on the
// SYNs. Every segment we send carries ACK once synchronized, so any segment sent also
// settles a pending delayed ACK. The RSTs that answer a segment no TCB takes are formed
// here too (RFC 9293 3.10.7.1, 3.10.7.2); the one segment built elsewhere is the ACK of a
// compact TIME-WAIT entry, which has no TCB (time-wait.ts).

import type { Address } from '../wire/address.js'
import type { Counters } from '../counters.js'
import { ACK, FIN, PSH, RST, SYN, type TcpSegment } from '../wire/tcp.js'
import { ecnOutgoing, ecnSynAckFlags, ecnSynFlags } from './ecn.js'
import { segmentOptions, synOptions } from './options.js'
import { seqAdd, seqDiff } from './seq.js'
import type { OutSegment, Tcb } from './tcb.js'

/** Hand one segment to the host, carrying our current ACK and window. */
function transmit(tcb: Tcb, seq: number, flags: number, payload?: Uint8Array, syn = false): void {
  const seg: OutSegment = { seq, ack: 0, flags, window: tcb.windowToAdvertise(syn), payload }
  if (!syn && !(flags & RST)) {
    // ECN (RFC 3168 6.1): ECE while echoing a CE mark, ECT(0) on new data, CWR after a cut (ecn.ts).
    const ecn = ecnOutgoing(tcb, seq, flags, payload?.length ?? 0)
    seg.flags |= ecn.flags
    if (ecn.ecn !== 0) seg.tos = ecn.ecn
  }
  if (flags & ACK) {
    // An ACK for data received uses one quick ACK (receive.ts; Linux's tcp_dec_quickack_mode).
    if (tcb.quickAcks > 0 && tcb.unackedSegments > 0) tcb.quickAcks--
    seg.ack = tcb.rcvNxt
    tcb.lastAckSent = tcb.rcvNxt // Last.ACK.sent (RFC 7323 4.3)
    tcb.unackedSegments = 0
    tcb.host.wheel.disarm(tcb.delayedAckTimer)
  }
  // A SYN carries MSS and what it offers (options.ts); any other segment TSopt and SACK blocks once negotiated.
  const options = syn ? synOptions(tcb) : segmentOptions(tcb, (flags & ACK) !== 0, payload?.length ?? 0)
  if (options !== undefined) seg.options = options
  // An offloaded (TSO) segment counts as the segments of SND.MSS the device cuts it into, as Linux's tcp_skb_pcount.
  const length = payload?.length ?? 0
  const segments = Math.max(1, Math.ceil(length / Math.max(1, tcb.sndMss)))
  tcb.segsOut += segments
  if (length > 0) tcb.dataSegsOut += segments
  tcb.host.transmit(tcb, seg)
}

/**
 * Our SYN (SYN-SENT) or SYN,ACK (SYN-RECEIVED), always from ISS, carrying our MSS (3.7.1) and
 * options (RFC 7323, RFC 2018, RFC 7413). A Fast Open SYN also carries the first `dataLen`
 * bytes of the send buffer (RFC 7413 4.2.1; fast-open-client.ts).
 */
export function sendSyn(tcb: Tcb, dataLen = 0): void {
  // ECN setup (RFC 3168 6.1.1): ECE and CWR on a SYN that asks, ECE on a SYN,ACK that agrees.
  const flags = tcb.state === 'SYN-SENT' ? SYN | ecnSynFlags(tcb) : SYN | ACK | ecnSynAckFlags(tcb)
  transmit(tcb, tcb.iss, flags, dataLen > 0 ? tcb.sendBuffer.read(0, dataLen) : undefined, true)
}

/** An immediate ACK: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>. Also the challenge ACK of RFC 5961. */
export function sendAck(tcb: Tcb): void {
  transmit(tcb, tcb.sndNxt, ACK)
}

/** A probe the peer must answer with an ACK: an old sequence number, no data (zero window, keepalive). */
export function sendProbe(tcb: Tcb): void {
  transmit(tcb, seqAdd(tcb.sndUna, -1), ACK)
}

/** A reset at SND.NXT: <SEQ=SND.NXT><CTL=RST>, for data that arrived after our CLOSE. */
export function sendReset(tcb: Tcb): void {
  tcb.host.counters.resetsSent++
  transmit(tcb, tcb.sndNxt, RST)
}

/**
 * The reset of an ABORT (RFC 9293 3.10.5; also a keepalive or FIN-WAIT-2 timeout):
 * <SEQ=SND.NXT><CTL=RST>, or with config.abortResetAck <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK>
 * as Linux's tcp_send_active_reset sends it.
 */
export function sendAbortReset(tcb: Tcb): void {
  tcb.host.counters.resetsSent++
  transmit(tcb, tcb.sndNxt, tcb.host.config.abortResetAck ? RST | ACK : RST)
}

/**
 * A bare RST on a TCB's 4-tuple, no ACK, window or options: <SEQ=seq><CTL=RST>. For a bad
 * ACK in SYN-SENT or SYN-RECEIVED, `seq` is SEG.ACK (3.10.7.3, 3.10.7.4); for a connection
 * whose listener closed while it opened, SND.NXT.
 */
export function sendResetAt(tcb: Tcb, seq: number): void {
  tcb.host.counters.resetsSent++
  tcb.segsOut++
  tcb.host.transmit(tcb, { seq, ack: 0, flags: RST, window: 0 })
}

/**
 * Send the segment that starts at `seq` (at most `maxLen` bytes): the SYN if
 * `seq` is ISS, else data from the send buffer, with our FIN if it ends there.
 * Used for new data and for retransmissions alike. PSH goes on the segment that
 * carries the last byte written, and where the writer asks (`push`: the end of a
 * burst, send.ts). Returns the sequence space it covers.
 */
export function sendSegmentAt(tcb: Tcb, seq: number, maxLen: number, push = false): number {
  // Our SYN is not acknowledged yet (SYN-SENT, SYN-RECEIVED, or a FIN-WAIT-1 reached
  // by a CLOSE in SYN-RECEIVED): from ISS, what goes again is the SYN.
  if (seq === tcb.iss && tcb.sndUna === tcb.iss) {
    sendSyn(tcb)
    return 1
  }
  const offset = seqDiff(seq, tcb.bufSeq)
  const len = Math.max(0, Math.min(maxLen, tcb.sendSize, tcb.sendBuffer.length - offset))
  const payload = len > 0 ? tcb.sendBuffer.read(offset, len) : undefined
  let flags = ACK
  const end = seqAdd(seq, len)
  // Our FIN goes after the last byte: the first time only as new data at SND.NXT (output()
  // then moves SND.NXT past it, 3.10.4), and again only where it was sent. A retransmission
  // that reaches the end of the buffer before the FIN was ever sent must not carry it.
  const finFits = tcb.finSeq === null ? seq === tcb.sndNxt : tcb.finSeq === end
  if (tcb.finQueued && offset + len === tcb.sendBuffer.length && finFits) {
    flags |= FIN
  }
  if (len > 0 && (push || offset + len === tcb.sendBuffer.length)) flags |= PSH
  if (len === 0 && !(flags & FIN)) return 0
  transmit(tcb, seq, flags, payload)
  const sent = len + (flags & FIN ? 1 : 0)
  tcb.sent.onSend(seq, sent, tcb.host.clock.now(), tcb.sndNxt) // RACK's per-segment transmit time (RFC 8985 6.1)
  return sent
}

// ---- segments without a TCB ----

/** What sends a segment that no TCB owns: the TCP layer, on the 4-tuple given. */
export interface SegmentOut {
  readonly counters: Counters
  sendSegment(remoteAddr: Address, localPort: number, remotePort: number, seg: OutSegment): void
}

/**
 * The RST that answers `seg` from `src` when no TCB takes it (RFC 9293 3.10.7.1; in LISTEN,
 * 3.10.7.2, only ACKs get one): with an ACK, <SEQ=SEG.ACK><CTL=RST>, else
 * <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>, so the peer finds it acceptable either way.
 */
export function sendResetFor(out: SegmentOut, src: Address, seg: TcpSegment): void {
  out.counters.resetsSent++
  if (seg.flags & ACK) return out.sendSegment(src, seg.dstPort, seg.srcPort, { seq: seg.ack, ack: 0, flags: RST, window: 0 })
  const segLen = seg.payload.length + (seg.flags & SYN ? 1 : 0) + (seg.flags & FIN ? 1 : 0)
  out.sendSegment(src, seg.dstPort, seg.srcPort, { seq: 0, ack: seqAdd(seg.seq, segLen), flags: RST | ACK, window: 0 })
}

/**
 * The SYN,ACK that answers `seg` with a SYN cookie for ISS (RFC 4987 3.6, syn-cookies.ts):
 * no TCB, the MSS option only, and a window that a SYN never scales (RFC 7323 2.2).
 */
export function sendCookieSynAck(out: SegmentOut, src: Address, seg: TcpSegment, iss: number, window: number, mss: number): void {
  out.sendSegment(src, seg.dstPort, seg.srcPort, { seq: iss, ack: seqAdd(seg.seq, 1), flags: SYN | ACK, window, options: { mss } })
}
