// Deciding what to send (RFC 9293 3.8: data, window, acknowledgments; 3.10.4
// for the FIN). Every segment we send carries ACK once synchronized, so any
// segment sent also settles a pending delayed ACK.

import { ACK, FIN, PSH, RST, SYN } from '../wire/tcp.js'
import type { OutSegment, Tcb } from './tcb.js'
import { armRetransmitTimer, noteCwndLimited, scheduleProbe, resendLost, restartAfterIdle, sendAllowance } from './loss-recovery.js'
import { segmentOptions, synOptions } from './options.js'
import { seqAdd, seqDiff } from './seq.js'

/** Hand one segment to the host, carrying our current ACK and window. */
function transmit(tcb: Tcb, seq: number, flags: number, payload?: Uint8Array, syn = false): void {
  const seg: OutSegment = { seq, ack: 0, flags, window: tcb.windowToAdvertise(syn), payload }
  if (flags & ACK) {
    seg.ack = tcb.rcvNxt
    tcb.lastAckSent = tcb.rcvNxt // Last.ACK.sent (RFC 7323 4.3)
    tcb.unackedSegments = 0
    tcb.host.wheel.disarm(tcb.delayedAckTimer)
  }
  // A SYN carries MSS and what it offers (options.ts); any other segment TSopt and SACK blocks once negotiated.
  const options = syn ? synOptions(tcb) : segmentOptions(tcb, (flags & ACK) !== 0, payload?.length ?? 0)
  if (options !== undefined) seg.options = options
  tcb.host.transmit(tcb, seg)
}

/** Our SYN (SYN-SENT) or SYN,ACK (SYN-RECEIVED), always from ISS, carrying our MSS (3.7.1) and options (RFC 7323, RFC 2018). */
export function sendSyn(tcb: Tcb): void {
  const flags = tcb.state === 'SYN-SENT' ? SYN : SYN | ACK
  transmit(tcb, tcb.iss, flags, undefined, true)
}

/** An immediate ACK: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>. Also the challenge ACK of RFC 5961. */
export function sendAck(tcb: Tcb): void {
  transmit(tcb, tcb.sndNxt, ACK)
}

/** A probe the peer must answer with an ACK: an old sequence number, no data (zero window, keepalive). */
export function sendProbe(tcb: Tcb): void {
  transmit(tcb, seqAdd(tcb.sndUna, -1), ACK)
}

/** Abort: <SEQ=SND.NXT><CTL=RST> (RFC 9293 3.10.5). */
export function sendReset(tcb: Tcb): void {
  tcb.host.counters.resetsSent++
  transmit(tcb, tcb.sndNxt, RST)
}

/**
 * Send the segment that starts at `seq` (at most `maxLen` bytes): the SYN if
 * `seq` is ISS, else data from the send buffer, with our FIN if it ends there.
 * Used for new data and for retransmissions alike. Returns the sequence space it covers.
 */
export function sendSegmentAt(tcb: Tcb, seq: number, maxLen: number): number {
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
  if (len > 0 && offset + len === tcb.sendBuffer.length) flags |= PSH
  if (len === 0 && !(flags & FIN)) return 0
  transmit(tcb, seq, flags, payload)
  return len + (flags & FIN ? 1 : 0)
}

/**
 * Send what the peer's window allows: new data, then our FIN once all data is
 * out (3.10.4). Starts the retransmission timer for anything in flight and the
 * persist timer when a zero window blocks us (3.8.6.1). `force`: the override
 * timeout of sender SWS avoidance (3.8.6.2.1) fired, send even a small segment.
 */
export function output(tcb: Tcb, force = false): void {
  const s = tcb.state
  if (s !== 'ESTABLISHED' && s !== 'CLOSE-WAIT' && s !== 'FIN-WAIT-1' && s !== 'LAST-ACK' && s !== 'CLOSING') return
  const host = tcb.host
  restartAfterIdle(tcb)
  resendLost(tcb) // loss recovery first (loss-recovery.ts)
  const sndNxtBefore = tcb.sndNxt
  while (tcb.finSeq === null) {
    const unsent = tcb.unsentBytes
    if (unsent === 0 && !tcb.finQueued) break
    // At most min(cwnd, SND.WND) beyond SND.UNA (RFC 5681 3.1); a FIN alone is not held
    // by cwnd (as Linux's tcp_cwnd_test: the final FIN adds no data to the network).
    const usable = unsent === 0 ? peerRoom(tcb) : Math.min(peerRoom(tcb), sendAllowance(tcb))
    // A FIN takes one sequence number of window, as data does.
    if (usable <= 0 || (unsent === 0 && usable < 1)) break
    if (!force && !mayTransmit(tcb, Math.min(unsent, usable, tcb.sendSize), unsent)) break
    const start = tcb.sndNxt
    const sent = sendSegmentAt(tcb, start, Math.min(unsent, usable))
    if (sent === 0) break
    if (tcb.finQueued && seqAdd(start, sent) === seqAdd(tcb.bufSeq, tcb.sendBuffer.length + 1)) {
      tcb.finSeq = seqAdd(start, sent - 1)
    }
    tcb.sndNxt = seqAdd(start, sent)
    tcb.lastDataSent = host.clock.now()
    if (tcb.rttSeq === null && tcb.lossState === 'open') {
      tcb.rttSeq = tcb.sndNxt // time this segment (RFC 6298 3, one at a time)
      tcb.rttStart = host.clock.now()
    }
    if (!tcb.retransmitTimer.armed) armRetransmitTimer(tcb) // RFC 6298 5.1
  }
  // A tail loss probe is due two RTTs after the last new segment (RFC 8985 7.2).
  if (seqDiff(tcb.sndNxt, sndNxtBefore) > 0) scheduleProbe(tcb)
  noteCwndLimited(tcb, tcb.unsentBytes, peerRoom(tcb))
  const blocked = tcb.finSeq === null && (tcb.unsentBytes > 0 || tcb.finQueued)
  if (blocked && tcb.sndUna === tcb.sndNxt && !tcb.persistTimer.armed) {
    host.wheel.arm(tcb.persistTimer, persistDelay(tcb))
  }
}

/**
 * Sender silly window syndrome avoidance with Nagle's algorithm (RFC 9293
 * 3.8.6.2.1 and 3.7.4, RFC 1122 4.2.3.4): may a segment of `len` bytes of the
 * `unsent` queued go now? Yes for a full-sized segment; a smaller one only when
 * nothing sent is unacknowledged (Nagle; or with setNoDelay) and either it
 * carries all the queued data (every write is pushed) or it fills at least half
 * the largest window the peer has offered. A FIN queued behind the data
 * releases the last small segment at once, as Linux does on close.
 */
export function mayTransmit(tcb: Tcb, len: number, unsent: number): boolean {
  if (len >= tcb.sndMss || unsent === 0) return true
  // No data sent and unacknowledged (SND.NXT = SND.UNA, counting from the first data byte:
  // a passive open's first write may come while the ACK of our SYN is still being processed).
  const nagleAllows = tcb.noDelay || tcb.sndNxt === tcb.bufSeq
  if (len === unsent) return nagleAllows || tcb.finQueued
  return nagleAllows && len >= tcb.maxSndWnd / 2
}

/** What the peer's window still allows beyond SND.NXT. */
function peerRoom(tcb: Tcb): number {
  return seqDiff(seqAdd(tcb.sndUna, tcb.sndWnd), tcb.sndNxt)
}

/** The persist interval: the RTO, doubled per unanswered probe, at most 60 s (RFC 1122 4.2.2.17). */
export function persistDelay(tcb: Tcb): number {
  return Math.min(tcb.rtt.rto * 2 ** tcb.persistBackoff, 60_000)
}

/**
 * An ACK due at once for segments just received: every second full-sized one (RFC 9293
 * 3.8.6.3), or text dropped or a gap filled (RFC 5681 4.2). While the link hands the stack a
 * batch of packets, the host holds it to the end of the batch (ACK coalescing, tcp-layer.ts),
 * so a connection that got several segments in one batch answers with one ACK covering all.
 */
export function ackSoon(tcb: Tcb): void {
  if (tcb.host.holdAck?.(tcb) === true) return
  sendAck(tcb)
}
