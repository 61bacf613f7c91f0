// Deciding what to send (RFC 9293 3.8: data, window, acknowledgments; 3.10.4
// for the FIN). The segments themselves are built and sent by emit.ts.

import type { Tcb } from './tcb.js'
import { sendAck, sendSegmentAt } from './emit.js'
import { armRetransmitTimer, noteCwndLimited, scheduleProbe, resendLost, restartAfterIdle, sendAllowance } from './loss-recovery.js'
import { seqAdd, seqDiff } from './seq.js'

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
